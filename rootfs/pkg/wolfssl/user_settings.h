/* wolfSSL's build options for Berth: the TLS library under libcurl, used
 * only by the registry client (runtime/registry), as a TLS 1.2 and 1.3
 * client that verifies servers against a CA bundle. Everything a client of
 * today's registries, CDNs and proxies does not need is left out; every
 * line below says why it is there. rootfs/pkg/wolfssl/build compiles
 * wolfSSL with these and installs them as <wolfssl/options.h>, so that
 * libcurl and Berth see the same structures wolfSSL was built with. */
#ifndef BERTH_WOLFSSL_USER_SETTINGS_H
#define BERTH_WOLFSSL_USER_SETTINGS_H

/* What configure would find out: x86_64 and arm64 are LP64. */
#define SIZEOF_LONG 8
#define SIZEOF_LONG_LONG 8
#define HAVE___UINT128_T 1

/* A client: Berth never serves TLS. */
#define NO_WOLFSSL_SERVER
/* TLS 1.3 (what registries and CDNs prefer) and 1.2 (what some proxies and
 * older registries still speak); nothing older. */
#define WOLFSSL_TLS13
#define NO_OLD_TLS
#define HAVE_TLS_EXTENSIONS
/* TLS 1.3 needs these: key shares on named groups, HKDF key schedule,
 * RSA-PSS signatures from RSA certificates. */
#define HAVE_SUPPORTED_CURVES
#define HAVE_HKDF
#define WC_RSA_PSS
/* Server name indication: registries behind CDNs pick a certificate by it. */
#define HAVE_SNI
/* TLS 1.2 hygiene most servers expect (RFC 7627, 7366, 5746). */
#define HAVE_EXTENDED_MASTER
#define HAVE_ENCRYPT_THEN_MAC
#define HAVE_SERVER_RENEGOTIATION_INFO
/* Registries addressed by IP (a LAN registry, 10.0.2.2 from a QEMU guest)
 * have their address in the certificate's subjectAltName. */
#define WOLFSSL_IP_ALT_NAME
/* Trust an intermediate that chains to a loaded root even when the server
 * also sends a cross-signed path (what OpenSSL and browsers do). */
#define WOLFSSL_ALT_CERT_CHAINS

/* Key exchange and signatures: ECDHE on P-256/P-384/P-521 and X25519,
 * ECDSA and RSA certificates (RSA up to 4096 bits). */
#define HAVE_ECC
#define ECC_SHAMIR
#define ECC_TIMING_RESISTANT
#define HAVE_CURVE25519
#define WOLFSSL_SP_MATH_ALL
#define SP_INT_BITS 4096
#define WC_RSA_BLINDING
#define TFM_TIMING_RESISTANT
/* Ciphers: AES-GCM and ChaCha20-Poly1305, the AEADs TLS 1.3 and modern
 * TLS 1.2 suites use; a 4-bit GHASH table is fast and small. */
#define HAVE_AESGCM
#define GCM_TABLE_4BIT
#define HAVE_CHACHA
#define HAVE_POLY1305
#define HAVE_ONE_TIME_AUTH
/* Hashes: SHA-384 for TLS_AES_256_GCM_SHA384 and P-384 certificates;
 * SHA-512 for RSA and ECDSA signatures with it. */
#define WOLFSSL_SHA384
#define WOLFSSL_SHA512
/* Random numbers: the hash DRBG seeded from the kernel. */
#define HAVE_HASHDRBG
/* libcurl's wolfSSL backend calls wolfSSL by OpenSSL's names (SSL_read,
 * SSL_CTX_set1_curves_list, ...), which only this compatibility layer
 * declares; what Berth does not call is dropped at link time. */
#define OPENSSL_EXTRA

/* Left out: what no registry needs. */
#define NO_DH
#define NO_DSA
#define NO_RC4
#define NO_MD4
#define NO_DES3
#define NO_PSK
#define NO_PWDBASED
#define WOLFSSL_NO_SHAKE256
/* Record buffers of a full record (16 KB) in each connection, instead of
 * one allocated and freed for every record received: with musl's malloc
 * that was an madvise() and a TLB shootdown per 16 KB, a third of a pull's
 * time (bench/registry.py). */
#define LARGE_STATIC_BUFFERS
/* Big structures on the heap, not the stack: libcurl's resolver threads
 * and Berth's pulls run on small musl thread stacks. */
#define WOLFSSL_SMALL_STACK

#endif
