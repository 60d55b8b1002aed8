/* Dropbear build options for Berth (overrides default_options.h).
 * The server is for operators: root only, public keys only. */

/* Keys only: no password or PAM code is compiled in at all, so no
 * configuration mistake can turn password logins on. */
#define DROPBEAR_SVR_PASSWORD_AUTH 0
#define DROPBEAR_SVR_PAM_AUTH 0
#define DROPBEAR_SVR_PUBKEY_AUTH 1
#define DROPBEAR_CLI_PASSWORD_AUTH 0
#define DROPBEAR_CLI_INTERACT_AUTH 0

/* Host keys: ed25519 and ECDSA are generated on first boot (cheap even
 * under emulation); RSA and DSS are not offered as host keys. Clients may
 * still log in with RSA keys. */
#define DROPBEAR_DSS 0
#define DROPBEAR_RSA 1
#define DROPBEAR_ED25519 1
#define DROPBEAR_ECDSA 1
#define ED25519_PRIV_FILENAME "/data/ssh/dropbear_ed25519_host_key"
#define ECDSA_PRIV_FILENAME "/data/ssh/dropbear_ecdsa_host_key"
#define RSA_PRIV_FILENAME "/data/ssh/dropbear_rsa_host_key"

/* No X11, no agent forwarding into the host, no sftp server in the image. */
#define DROPBEAR_X11FWD 0
#define DROPBEAR_SVR_AGENTFWD 0
#define DROPBEAR_CLI_AGENTFWD 0
#define DROPBEAR_SFTPSERVER 0

/* The motd would be read from the read-only root; Berth prints its own. */
#define DO_MOTD 0

/* Where Berth's commands live. */
#define DEFAULT_PATH "/usr/sbin:/usr/bin:/sbin:/bin"
#define DEFAULT_ROOT_PATH "/usr/sbin:/usr/bin:/sbin:/bin"
