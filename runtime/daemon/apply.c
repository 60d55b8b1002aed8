/* compose.yaml and `berth run` into containers (see apply.h). */
#include "daemon/apply.h"

#include <errno.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cinit/cinit.h"
#include "compose/compose.h"
#include "compose/graph.h"
#include "compose/ociwrite.h"
#include "compose/shlex.h"
#include "compose/translate.h"
#include "daemon/bundle.h"
#include "daemon/ctrtab.h"
#include "daemon/daemon.h"
#include "daemon/images.h"
#include "daemon/network.h"
#include "daemon/pulls.h"
#include "daemon/sup.h"
#include "image/imgref.h"
#include "image/overlay.h"
#include "lib/cleanup.h"
#include "lib/fsutil.h"
#include "lib/hostcfg.h"
#include "lib/log.h"
#include "lib/yamltree.h"
#include "monitor/logfile.h"

#define LAST_GOOD_DIR BERTH_DATA_DIR "/last-good"
/* Where Docker picks a host port for a port published without one (the
 * kernel's default ip_local_port_range). */
#define EPHEMERAL_FIRST 32768u
#define EPHEMERAL_LAST 60999u
#define TMP_ROOT BERTH_RUN_DIR_TMP
#define BERTH_RUN_DIR_TMP "/run/berth/tmp"

_Static_assert(COMPOSE_NAME_MAX <= CTR_NAME_MAX, "a container name compose accepts is one berthd takes");

/* ---- where a container's data lives ---------------------------------------------- */

/* host.yaml's containers.bind_mounts, read at each apply. */
static struct host_config host_cfg;

struct volume_ctx {
	const struct compose_project *project;
	const char *container;
	const char *image_root; /* the image, mounted read-only: a new volume gets its files */
	char path[PATH_MAX];
	char **names; /* named volumes used, for the definition */
	size_t nnames;
};

static int under(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

static int add_name(struct volume_ctx *v, const char *name)
{
	char **names = realloc(v->names, (v->nnames + 1) * sizeof(*names));
	if (names == NULL) {
		return -ENOMEM;
	}
	v->names = names;
	v->names[v->nnames] = strdup(name);
	if (v->names[v->nnames] == NULL) {
		return -ENOMEM;
	}
	v->nnames++;
	return 0;
}

/* Binds may come from /config (read-only there) and from DATA, never from
 * berthd's own state. compose refused the others already (the project is
 * read with the host's rules); this is the guard for any other way in. A
 * missing source under /data is created when the mount allows it. */
static int bind_source(struct volume_ctx *v, const struct compose_service *s, const struct compose_mount *m,
		       const char **host_path, struct berr *err)
{
	const char *src = m->source;
	if (!compose_bind_allowed(&host_cfg, src)) {
		return berr_setx(err, EPERM, "services.%s: volumes: bind mount of %s: " COMPOSE_BIND_RULE, s->name,
				 src);
	}
	struct stat st;
	if (stat(src, &st) < 0) {
		if (errno != ENOENT || !m->create_host_path || !under(src, COMPOSE_DATA_DIR)) {
			return berr_set(err, errno, "services.%s: volumes: bind mount source %s", s->name, src);
		}
		if (mkdir_p(src, 0755, err) < 0) {
			return berr_prefix(err, "services.%s: volumes", s->name);
		}
	}
	copy_string(v->path, sizeof(v->path), src);
	*host_path = v->path;
	return 0;
}

/* Named volumes live on DATA; anonymous ones too, named after the
 * container and the path, so that a recreated container finds its data. */
static int volume_hook(void *ctx, const struct compose_service *s, const struct compose_mount *m,
		       const char **host_path, struct berr *err)
{
	struct volume_ctx *v = ctx;
	if (m->type == COMPOSE_MOUNT_BIND) {
		return bind_source(v, s, m, host_path, err);
	}
	int created = 0;
	char name[CTR_NAME_MAX + 32];
	/* An anonymous volume shared by volumes_from is its owner's. */
	const char *owner = m->anon_owner != NULL ? m->anon_owner : v->container;
	const struct compose_volume *vol =
		m->source != NULL && v->project != NULL ? compose_volume_find(v->project, m->source) : NULL;
	if (vol != NULL && vol->external) {
		copy_string(name, sizeof(name), vol->name != NULL ? vol->name : vol->key);
	} else if (m->source != NULL) {
		copy_string(name, sizeof(name), m->source);
	} else if (compose_anon_volume_name(owner, m->target, name, sizeof(name)) < 0) {
		/* The image's VOLUMEs come this way; compose checked the service's. */
		return berr_setx(err, ENAMETOOLONG,
				 "services.%s: volumes: the anonymous volume at %s is named after the container, whose "
				 "name must then be at most %d characters",
				 s->name, m->target, COMPOSE_NAME_MAX - 1 - COMPOSE_ANON_SUFFIX_LEN);
	}
	if (vol != NULL && vol->external) {
		/* external: made outside the file; berthd uses it, never makes it */
		char path[PATH_MAX];
		struct stat st;
		if (path_join(path, sizeof(path), VOLUMES_DIR, name) < 0 || stat(path, &st) < 0) {
			return berr_setx(
				err, ENOENT,
				"services.%s: volumes: volume %s is external and does not exist (`berth run -v "
				"%s:/PATH` makes one, or drop external:)",
				s->name, name, name);
		}
	}
	if (volume_path(name, v->path, sizeof(v->path), &created, err) < 0) {
		return berr_prefix(err, "services.%s: volumes", s->name);
	}
	if (created && !m->nocopy && v->image_root != NULL &&
	    volume_populate(v->image_root, m->target, v->path, err) < 0) {
		return berr_prefix(err, "services.%s: volumes", s->name);
	}
	if (add_name(v, name) < 0) {
		return berr_set(err, ENOMEM, "services.%s", s->name);
	}
	*host_path = v->path;
	return 0;
}

/* ---- one service into a container definition ------------------------------------------ */

static char **strv_dup(char *const *v, size_t n)
{
	char **out = calloc(n + 1, sizeof(*out));
	for (size_t i = 0; out != NULL && i < n; i++) {
		out[i] = strdup(v[i]);
		if (out[i] == NULL) {
			for (size_t k = 0; k < i; k++) {
				free(out[k]);
			}
			free(out);
			return NULL;
		}
	}
	return out;
}

/* The image's files, read-only, for the translation to read /etc/passwd
 * and /etc/group from. */
static int mount_image(const struct image_resolved *img, char *target, size_t size, struct berr *err)
{
	static unsigned serial;
	if (snprintf(target, size, "%s/image-%d-%u", TMP_ROOT, (int)getpid(), serial++) >= (int)size) {
		return berr_setx(err, ENAMETOOLONG, "temporary mount point");
	}
	if (mkdir_p(target, 0700, err) < 0) {
		return -err->code;
	}
	if (overlay_mount((const char *const *)img->layers, img->nlayers, NULL, NULL, target,
			  MS_NOSUID | MS_NODEV | MS_NOEXEC, err) < 0) {
		rmdir(target);
		return -err->code;
	}
	return 0;
}

static void unmount_image(const char *target)
{
	umount2(target, MNT_DETACH);
	rmdir(target);
}

void apply_clean_tmp(void)
{
	auto_closedir DIR *d = opendir(TMP_ROOT);
	if (d == NULL) {
		return;
	}
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		char path[PATH_MAX];
		if (strncmp(e->d_name, "image-", 6) != 0 || path_join(path, sizeof(path), TMP_ROOT, e->d_name) < 0) {
			continue;
		}
		blog_warn("unmounting %s, left by a berthd that was killed while it applied", path);
		unmount_image(path);
	}
}

struct service_in {
	const struct compose_project *project;
	const struct compose_service *service;
	const char *name; /* the container's */
	int adhoc;	  /* berth run: not a service of compose.yaml */
	int auto_remove;
};

/* The container that stands for a service where one is meant (a
 * dependency, network_mode service:): its first replica. */
static const char *container_name_of(const struct compose_project *p, const char *service, char *buf, size_t size)
{
	if (compose_first_container(p, service, buf, size) < 0) {
		copy_string(buf, size, service);
	}
	return buf;
}

static int host_hostname(char *out, size_t size)
{
	if (read_file("/etc/hostname", out, size, NULL) < 0) {
		out[0] = '\0';
		return -1;
	}
	trim_end(out);
	return 0;
}

/* init: true: berth-init (this very program, bound read-only into the
 * container) runs the command as its child. */
static int add_init(struct compose_runtime *rt, struct berr *err)
{
	struct oci_config *c = &rt->oci;
	struct oci_process *p = &c->process;
	char **args = arena_alloc(&c->arena, (p->nargs + 3) * sizeof(*args));
	struct oci_mount *mounts = arena_alloc(&c->arena, (c->nmounts + 1) * sizeof(*mounts));
	char **opts = arena_alloc(&c->arena, 4 * sizeof(*opts));
	if (args == NULL || mounts == NULL || opts == NULL) {
		return berr_set(err, ENOMEM, "init");
	}
	args[0] = CINIT_PATH;
	args[1] = "--";
	memcpy(args + 2, p->args, p->nargs * sizeof(*args));
	p->args = args;
	p->nargs += 2;
	memcpy(mounts, c->mounts, c->nmounts * sizeof(*mounts));
	opts[0] = "bind";
	opts[1] = "ro";
	opts[2] = "nosuid";
	opts[3] = "nodev";
	mounts[c->nmounts] = (struct oci_mount){
		.destination = CINIT_PATH,
		.type = "bind",
		.source = "/usr/bin/berth",
		.options = opts,
		.noptions = 4,
	};
	c->mounts = mounts;
	c->nmounts++;
	return 0;
}

/* The name a network has on this host: compose's name:, else its key. */
static const char *network_name(const struct compose_project *p, const char *key)
{
	const struct compose_network *n = compose_network_find(p, key);
	return n != NULL && n->name != NULL ? n->name : key;
}

/* How the container reaches the network: its own namespace on bridges,
 * the host's, none, or another container's. */
static int net_mode(const struct service_in *in, struct ctr_def *def, struct berr *err)
{
	const struct compose_service *s = in->service;
	switch (s->network_mode) {
	case COMPOSE_NET_HOST:
		def->netmode = NETMODE_HOST;
		break;
	case COMPOSE_NET_NONE:
		def->netmode = NETMODE_NONE;
		break;
	case COMPOSE_NET_SERVICE:
	case COMPOSE_NET_CONTAINER:
		def->netmode = NETMODE_JOIN;
		char target[CTR_NAME_MAX];
		def->join =
			strdup(s->network_mode == COMPOSE_NET_SERVICE
				       ? container_name_of(in->project, s->network_mode_target, target, sizeof(target))
				       : s->network_mode_target);
		if (def->join == NULL) {
			return berr_set(err, ENOMEM, "services.%s", s->name);
		}
		break;
	case COMPOSE_NET_DEFAULT:
	case COMPOSE_NET_BRIDGE:
		def->netmode = NETMODE_BRIDGE;
		break;
	}
	return 0;
}

/* The service's networks in the order the container joins them: by
 * priority, highest first (eth0), then as the file lists them. */
static void by_priority(const struct compose_service *s, const struct compose_netattach **order)
{
	for (size_t i = 0; i < s->nnetworks; i++) {
		size_t j = i;
		while (j > 0 && order[j - 1]->priority < s->networks[i].priority) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = &s->networks[i];
	}
}

/* The bridges it is on: its networks, or the default one. */
static int net_attachments(const struct service_in *in, struct ctr_def *def, struct berr *err)
{
	const struct compose_service *s = in->service;
	size_t n = s->nnetworks > 0 ? s->nnetworks : 1;
	def->nets = calloc(n, sizeof(*def->nets));
	const struct compose_netattach **order = calloc(n, sizeof(*order));
	if (def->nets == NULL || order == NULL) {
		free(order);
		return berr_set(err, ENOMEM, "services.%s", s->name);
	}
	by_priority(s, order);
	/* gw_priority: the highest has the default route, when one is given */
	const struct compose_netattach *route = NULL;
	for (size_t i = 0; i < s->nnetworks; i++) {
		if (s->networks[i].gw_priority != 0 &&
		    (route == NULL || s->networks[i].gw_priority > route->gw_priority)) {
			route = &s->networks[i];
		}
	}
	def->nnets = n;
	for (size_t i = 0; i < n; i++) {
		const struct compose_netattach *a = s->nnetworks > 0 ? order[i] : NULL;
		struct ctr_netattach *d = &def->nets[i];
		/* the service's mac_address is its first network's */
		const char *mac = a != NULL && a->mac_address != NULL ? a->mac_address : i == 0 ? s->mac_address : NULL;
		d->mac = mac != NULL ? strdup(mac) : NULL;
		d->ifname = a != NULL && a->interface_name != NULL ? strdup(a->interface_name) : NULL;
		d->gateway = a != NULL && a == route;
		d->network = strdup(a != NULL ? network_name(in->project, a->network) : DEFAULT_NETWORK);
		d->ipv4 = a != NULL && a->ipv4_address != NULL ? strdup(a->ipv4_address) : NULL;
		if (a != NULL && a->naliases > 0) {
			d->aliases = strv_dup(a->aliases, a->naliases);
			d->naliases = d->aliases != NULL ? a->naliases : 0;
		}
		if (d->network == NULL) {
			free(order);
			return berr_set(err, ENOMEM, "services.%s", s->name);
		}
	}
	free(order);
	return 0;
}

/* Whether host port port/proto is free: no container publishes it (nor
 * def, being built) and the host can bind it now. */
static int port_free(const struct ctr_def *def, int proto, unsigned port)
{
	for (size_t i = 0; i < def->nports; i++) {
		if (def->ports[i].proto == proto && def->ports[i].host_port == port) {
			return 0;
		}
	}
	ctr_foreach(c) {
		for (size_t i = 0; i < c->def.nports; i++) {
			if (c->def.ports[i].proto == proto && c->def.ports[i].host_port == port &&
			    strcmp(c->def.name, def->name != NULL ? def->name : "") != 0) {
				return 0;
			}
		}
	}
	auto_close int fd = socket(AF_INET, (proto == IPPROTO_UDP ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	return fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
}

/* A host port for one published without one, as Docker picks it: the one
 * the container has now (an apply keeps it), else the first free one of
 * the ephemeral range. 0 when there is none. */
static uint16_t pick_port(const char *name, const struct ctr_def *def, int proto, unsigned target)
{
	const struct ctr *c = ctr_find(name);
	for (size_t i = 0; c != NULL && c->has_def && i < c->def.nports; i++) {
		const struct ctr_port *p = &c->def.ports[i];
		if (p->picked && p->proto == proto && p->port == target) {
			return p->host_port;
		}
	}
	for (unsigned port = EPHEMERAL_FIRST; port <= EPHEMERAL_LAST; port++) {
		if (port_free(def, proto, port)) {
			return (uint16_t)port;
		}
	}
	return 0;
}

/* Published ports, one per host port of a range. */
static int net_ports(const struct service_in *in, struct ctr_def *def, struct berr *err)
{
	const struct compose_service *s = in->service;
	size_t nports = 0;
	for (size_t i = 0; i < s->nports; i++) {
		/* compose refused what cannot be published; the guard for any other way in. */
		if (compose_port_check(s, &s->ports[i], err) < 0) {
			return berr_prefix(err, "services.%s.ports", s->name);
		}
		const struct compose_port *pt = &s->ports[i];
		nports += pt->published_start == 0 ? (size_t)(pt->target_end - pt->target_start) + 1
						   : (size_t)(pt->published_end - pt->published_start) + 1;
	}
	def->ports = nports > 0 ? calloc(nports, sizeof(*def->ports)) : NULL;
	if (nports > 0 && def->ports == NULL) {
		return berr_set(err, ENOMEM, "services.%s", s->name);
	}
	for (size_t i = 0; i < s->nports; i++) {
		const struct compose_port *pt = &s->ports[i];
		struct in_addr host = {0};
		if (pt->host_ip != NULL) {
			inet_pton(AF_INET, pt->host_ip, &host);
		}
		int proto = strcmp(pt->protocol, "udp") == 0 ? IPPROTO_UDP : IPPROTO_TCP;
		if (pt->published_start == 0) {
			for (unsigned target = pt->target_start; target <= pt->target_end; target++) {
				uint16_t host_port = pick_port(in->name, def, proto, target);
				if (host_port == 0) {
					return berr_setx(err, EADDRINUSE,
							 "services.%s.ports: no free host port for %u in %u-%u",
							 s->name, target, EPHEMERAL_FIRST, EPHEMERAL_LAST);
				}
				def->ports[def->nports++] = (struct ctr_port){
					.proto = proto,
					.host_ip = host.s_addr,
					.host_port = host_port,
					.port = (uint16_t)target,
					.picked = 1,
				};
			}
			continue;
		}
		for (unsigned p = pt->published_start; p <= pt->published_end; p++) {
			unsigned target = pt->target_start + (p - pt->published_start);
			if (pt->target_end == pt->target_start) {
				target = pt->target_start;
			}
			def->ports[def->nports++] = (struct ctr_port){
				.proto = proto,
				.host_ip = host.s_addr,
				.host_port = (uint16_t)p,
				.port = (uint16_t)target,
			};
		}
	}
	return 0;
}

/* Its resolvers and the extra names of its /etc/hosts. */
static int net_names(const struct service_in *in, struct ctr_def *def, struct berr *err)
{
	const struct compose_service *s = in->service;
	if (s->ndns > 0) {
		def->dns = strv_dup(s->dns, s->ndns);
		def->ndns = def->dns != NULL ? s->ndns : 0;
	}
	if (s->ndns_search > 0) {
		def->dns_search = strv_dup(s->dns_search, s->ndns_search);
		def->ndns_search = def->dns_search != NULL ? s->ndns_search : 0;
	}
	if (s->ndns_opt > 0) {
		def->dns_opt = strv_dup(s->dns_opt, s->ndns_opt);
		def->ndns_opt = def->dns_opt != NULL ? s->ndns_opt : 0;
	}
	def->links = s->nlinks > 0 ? calloc(s->nlinks, sizeof(*def->links)) : NULL;
	for (size_t i = 0; def->links != NULL && i < s->nlinks; i++) {
		/* links name a service (its first container), external_links a container */
		const struct compose_link *l = &s->links[i];
		char target[CTR_NAME_MAX];
		if (l->external) {
			copy_string(target, sizeof(target), l->target);
		} else {
			container_name_of(in->project, l->target, target, sizeof(target));
		}
		if (asprintf(&def->links[i], "%s %s", target, l->alias != NULL ? l->alias : l->target) < 0) {
			return berr_set(err, ENOMEM, "services.%s", s->name);
		}
		def->nlinks++;
	}
	if (s->nextra_hosts > 0) {
		def->extra_hosts = calloc(s->nextra_hosts, sizeof(*def->extra_hosts));
		for (size_t i = 0; def->extra_hosts != NULL && i < s->nextra_hosts; i++) {
			if (asprintf(&def->extra_hosts[i], "%s %s", s->extra_hosts[i].key, s->extra_hosts[i].value) <
			    0) {
				return berr_set(err, ENOMEM, "services.%s", s->name);
			}
			def->nextra_hosts++;
		}
	}
	return 0;
}

/* Networks, published ports, resolvers and extra hosts of a service. */
static int build_net(const struct service_in *in, struct ctr_def *def, struct berr *err)
{
	if (net_mode(in, def, err) < 0 || (def->netmode == NETMODE_BRIDGE && net_attachments(in, def, err) < 0) ||
	    net_ports(in, def, err) < 0 || net_names(in, def, err) < 0) {
		return -err->code;
	}
	return 0;
}

/* The container joins the namespace berthd made for it (network.h). */
static int set_netns(struct oci_config *cfg, const char *path, struct berr *err)
{
	for (size_t i = 0; i < cfg->linux_.nnamespaces; i++) {
		if (cfg->linux_.namespaces[i].type == OCI_NS_NET) {
			cfg->linux_.namespaces[i].path = arena_strdup(&cfg->arena, path);
			return cfg->linux_.namespaces[i].path != NULL ? 0 : berr_set(err, ENOMEM, "netns");
		}
	}
	return berr_setx(err, EINVAL, "the container config has no network namespace");
}

/* Where a container's files are: its directory on DATA, its root, its
 * cgroup, and the network namespace it has or joins. */
struct ctr_paths {
	char dir[PATH_MAX];
	char rootfs[PATH_MAX];
	char hosts[PATH_MAX];
	char resolv[PATH_MAX];
	char files[PATH_MAX]; /* its secrets and configs */
	char cgroup[CTR_NAME_MAX + 256];
	char netns[PATH_MAX];
	char host_name[256];
	const char *join; /* the container whose network it shares, or NULL */
	char join_name[CTR_NAME_MAX];
};

static void ctr_paths(const struct service_in *in, struct ctr_paths *cp)
{
	const struct compose_service *s = in->service;
	char rundir[PATH_MAX];
	ctr_dir(in->name, cp->dir, sizeof(cp->dir));
	ctr_run_dir(in->name, rundir, sizeof(rundir));
	path_join(cp->rootfs, sizeof(cp->rootfs), rundir, "rootfs");
	path_join(cp->hosts, sizeof(cp->hosts), cp->dir, "hosts");
	path_join(cp->resolv, sizeof(cp->resolv), cp->dir, "resolv.conf");
	ctr_files_dir(in->name, cp->files, sizeof(cp->files));
	/* cgroup_parent: a group under berthd's own, checked by compose */
	if (s->cgroup_parent != NULL) {
		snprintf(cp->cgroup, sizeof(cp->cgroup), "/berth/%s/%s", s->cgroup_parent, in->name);
	} else {
		snprintf(cp->cgroup, sizeof(cp->cgroup), "/berth/%s", in->name);
	}
	host_hostname(cp->host_name, sizeof(cp->host_name));
	cp->join = NULL;
	if (s->network_mode == COMPOSE_NET_SERVICE) {
		cp->join = container_name_of(in->project, s->network_mode_target, cp->join_name, sizeof(cp->join_name));
	} else if (s->network_mode == COMPOSE_NET_CONTAINER) {
		cp->join = s->network_mode_target;
	}
	network_netns_path(cp->join != NULL ? cp->join : in->name, cp->netns, sizeof(cp->netns));
}

/* The service's OCI config, translated with the image mounted (for its
 * /etc/passwd and /etc/group, and to seed new volumes), then pointed at
 * the container's own root, its network namespace and its init. */
static int translate_service(const struct service_in *in, const struct image_resolved *img, const struct ctr_paths *cp,
			     struct volume_ctx *vctx, struct compose_runtime *rt, struct berr *err)
{
	const struct compose_service *s = in->service;
	memset(rt, 0, sizeof(*rt));
	char mnt[PATH_MAX];
	if (mount_image(img, mnt, sizeof(mnt), err) < 0) {
		return berr_prefix(err, "services.%s", s->name);
	}
	vctx->image_root = mnt;
	struct compose_translate_in tin = {
		.project = in->project,
		.service = s,
		.image = &img->cfg,
		.rootfs = mnt,
		.hostname = s->network_mode == COMPOSE_NET_HOST && cp->host_name[0] != '\0' ? cp->host_name : in->name,
		.volume_path = volume_hook,
		.volume_ctx = vctx,
		.hosts_file = cp->hosts,
		.resolv_file = cp->resolv,
		.cgroups_path = cp->cgroup,
		.files_dir = cp->files,
		.netns_path = cp->join != NULL ? cp->netns : NULL,
	};
	int ret = compose_translate(&tin, rt, err);
	unmount_image(mnt);
	vctx->image_root = NULL;
	if (ret < 0) {
		return ret;
	}
	/* The real root is the container's own overlay, mounted at start. */
	rt->oci.root_path = arena_strdup(&rt->oci.arena, cp->rootfs);
	if ((s->network_mode == COMPOSE_NET_DEFAULT || s->network_mode == COMPOSE_NET_BRIDGE) &&
	    set_netns(&rt->oci, cp->netns, err) < 0) {
		return -err->code;
	}
	if (s->init && add_init(rt, err) < 0) {
		return -err->code;
	}
	return 0;
}

static void fill_health(const struct compose_runtime *rt, struct ctr_def *def)
{
	const struct compose_healthcheck *h = &rt->healthcheck;
	if (!rt->has_healthcheck || h->ntest == 0 || strcmp(h->test[0], "NONE") == 0) {
		return;
	}
	def->health.test = strv_dup(h->test, h->ntest);
	def->health.ntest = h->ntest;
	def->health.interval_ms = h->interval_ns / 1000000;
	def->health.timeout_ms = h->timeout_ns / 1000000;
	def->health.start_period_ms = h->start_period_ns / 1000000;
	def->health.retries = h->retries;
}

/* post_start or pre_stop hooks of the service into the definition's. */
static int copy_hooks(const struct compose_hook *in, size_t n, struct ctr_hook **out, size_t *nout)
{
	if (n == 0) {
		return 0;
	}
	*out = calloc(n, sizeof(**out));
	if (*out == NULL) {
		return -ENOMEM;
	}
	*nout = n;
	for (size_t i = 0; i < n; i++) {
		struct ctr_hook *h = &(*out)[i];
		h->command = strv_dup(in[i].command, in[i].ncommand);
		h->ncommand = in[i].ncommand;
		h->user = in[i].user != NULL ? strdup(in[i].user) : NULL;
		h->cwd = in[i].working_dir != NULL ? strdup(in[i].working_dir) : NULL;
		h->env = calloc(in[i].nenv + 1, sizeof(*h->env));
		if (h->command == NULL || h->env == NULL || (in[i].user != NULL && h->user == NULL) ||
		    (in[i].working_dir != NULL && h->cwd == NULL)) {
			return -ENOMEM;
		}
		for (size_t k = 0; k < in[i].nenv; k++) {
			/* A bare NAME whose variable is unset: not in the hook's environment. */
			if (in[i].env[k].value != NULL &&
			    asprintf(&h->env[h->nenv++], "%s=%s", in[i].env[k].name, in[i].env[k].value) < 0) {
				h->env[--h->nenv] = NULL;
				return -ENOMEM;
			}
		}
	}
	return 0;
}

/* The definition berthd keeps: the config, the image, and how the
 * container restarts, stops, is checked, waits, stores and logs. */
static int fill_def(const struct service_in *in, const struct image_resolved *img, const struct compose_runtime *rt,
		    struct volume_ctx *vctx, struct ctr_def *def, struct berr *err)
{
	const struct compose_service *s = in->service;
	size_t len = 0;
	if (oci_config_to_json(&rt->oci, &def->config_json, &len, err) < 0) {
		return -err->code;
	}
	def->name = strdup(in->name);
	def->service = in->adhoc ? NULL : strdup(s->name);
	def->image = strdup(s->image);
	def->image_id = strdup(img->id);
	def->lowerdirs = strv_dup(img->layers, img->nlayers);
	def->nlowerdirs = img->nlayers;
	def->read_only = s->read_only;
	def->restart = (enum restart_policy)s->restart;
	def->max_retries = s->max_retries;
	def->restart_delay_ms = s->restart_delay_ns / 1000000;
	def->restart_window_ms = s->restart_window_ns / 1000000;
	def->stop_signal = rt->stop_signal > 0 ? rt->stop_signal : SIGTERM;
	def->stop_grace_ms = rt->stop_grace_ns >= 0 ? rt->stop_grace_ns / 1000000 : 10000;
	def->tty = s->tty;
	def->stdin_open = s->stdin_open;
	def->auto_remove = in->auto_remove;
	fill_health(rt, def);
	if (s->ndeps > 0) {
		def->deps = calloc(s->ndeps, sizeof(*def->deps));
		for (size_t i = 0; def->deps != NULL && i < s->ndeps; i++) {
			char dep[CTR_NAME_MAX];
			def->deps[def->ndeps].name =
				strdup(container_name_of(in->project, s->deps[i].service, dep, sizeof(dep)));
			def->deps[def->ndeps].cond = (enum dep_condition)s->deps[i].condition;
			def->ndeps++;
		}
	}
	def->volumes = vctx->names;
	def->nvolumes = vctx->nnames;
	vctx->names = NULL;
	vctx->nnames = 0;
	if (build_net(in, def, err) < 0) {
		return -err->code;
	}
	if (copy_hooks(s->post_start, s->npost_start, &def->post_start, &def->npost_start) < 0 ||
	    copy_hooks(s->pre_stop, s->npre_stop, &def->pre_stop, &def->npre_stop) < 0) {
		return berr_set(err, ENOMEM, "services.%s", s->name);
	}
	def->log_max_size = s->log_max_size > 0 ? (uint64_t)s->log_max_size : LOGFILE_DEFAULT_MAX_SIZE;
	def->log_max_files = s->log_max_files > 0 ? (unsigned)s->log_max_files : LOGFILE_DEFAULT_MAX_FILES;
	if (def->name == NULL || def->image == NULL || def->image_id == NULL || def->lowerdirs == NULL ||
	    (s->ndeps > 0 && def->deps == NULL)) {
		return berr_set(err, ENOMEM, "services.%s", s->name);
	}
	return 0;
}

/* Set while the project is applied again because a pull brought an
 * image in: pull_policy: always pulls at boot and `berth up`, not then. */
static int reapplying;

static int build_def(const struct service_in *in, struct ctr_def *def, struct berr *err)
{
	const struct compose_service *s = in->service;
	memset(def, 0, sizeof(*def));
	if (s->image == NULL) {
		return berr_setx(err, EINVAL, "services.%s: no image", s->name);
	}
	struct image_resolved img;
	char canon[IMGREF_MAX];
	if (imgref_normalize(s->image, canon, sizeof(canon), err) < 0) {
		return berr_prefix(err, "services.%s", s->name);
	}
	if (images_resolve(s->image, &img, err) < 0) {
		if (s->pull_policy == COMPOSE_PULL_NEVER) {
			return berr_setx(err, ENOENT,
					 "services.%s: image %s is not loaded (pull_policy: never): put it in "
					 "/config/images/ or `berth load` it",
					 s->name, s->image);
		}
		if (in->adhoc) {
			/* berth run answers now; a pull is `berth pull`'s, with its progress. */
			return berr_setx(err, ENOENT,
					 "image %s is not loaded: `berth pull` it, put it in /config/images/ or "
					 "`berth load` it",
					 s->image);
		}
		/* On its way: the service waits, the others go on. */
		char status[700];
		pulls_start(canon);
		pulls_status(canon, status, sizeof(status));
		return berr_setx(err, EINPROGRESS, "%s", status);
	}
	if (s->pull_policy == COMPOSE_PULL_ALWAYS && !reapplying) {
		/* The stored image runs meanwhile; a newer one recreates the
		 * container when it is in (apply_after_pull). */
		pulls_start(canon);
	}
	struct ctr_paths cp;
	ctr_paths(in, &cp);
	struct volume_ctx vctx = {.project = in->project, .container = in->name};
	struct compose_runtime rt;
	memset(&rt, 0, sizeof(rt));
	/* Written before the config that binds them; again at each apply, so
	 * that a changed file is what the next start sees. */
	int ret = compose_write_files(in->project, s, cp.files, err);
	if (ret == 0) {
		ret = translate_service(in, &img, &cp, &vctx, &rt, err);
	}
	if (ret == 0) {
		ret = fill_def(in, &img, &rt, &vctx, def, err);
	}
	if (ret == 0) {
		ctr_def_hash(def);
	}
	for (size_t i = 0; i < vctx.nnames; i++) {
		free(vctx.names[i]);
	}
	free(vctx.names);
	if (ret < 0) {
		ctr_def_clear(def);
	}
	compose_runtime_free(&rt);
	images_resolved_free(&img);
	return ret;
}

void apply_after_pull(void)
{
	reapplying = 1;
	apply_compose(NULL);
	reapplying = 0;
}

void apply_pull_failed(const char *ref)
{
	ctr_foreach(c) {
		char canon[IMGREF_MAX];
		struct berr err = {0};
		if (c->has_def || c->def.image == NULL ||
		    imgref_normalize(c->def.image, canon, sizeof(canon), &err) < 0 || strcmp(canon, ref) != 0) {
			continue;
		}
		char status[700];
		pulls_status(ref, status, sizeof(status));
		sup_note_waiting(c->def.name, c->def.service, c->def.image, status);
	}
}

/* ---- compose.yaml ---------------------------------------------------------------------- */

static void add_str(json_object *report, const char *key, const char *value)
{
	if (report == NULL) {
		return;
	}
	json_object *a = NULL;
	if (!json_object_object_get_ex(report, key, &a)) {
		a = json_object_new_array();
		json_object_object_add(report, key, a);
	}
	json_object_array_add(a, json_object_new_string(value));
}

static void problem(json_object *report, int error, const char *msg)
{
	if (error) {
		blog_err("%s", msg);
	} else {
		blog_warn("%s", msg);
	}
	add_str(report, error ? "errors" : "warnings", msg);
}

/* Copies from/name to to_dir/name atomically and durably; a missing
 * source removes the copy. */
static int copy_file(const char *from, const char *to_dir, const char *name)
{
	char src[PATH_MAX];
	char dst[PATH_MAX];
	if (path_join(src, sizeof(src), from, name) < 0 || path_join(dst, sizeof(dst), to_dir, name) < 0) {
		return -ENAMETOOLONG;
	}
	auto_free char *data = NULL;
	size_t len = 0;
	struct berr err = {0};
	if (read_file_alloc(AT_FDCWD, src, O_NONBLOCK, YT_MAX_INPUT, NULL, &data, &len, &err) < 0) {
		if (err.code == ENOENT) {
			unlink(dst);
			return 0;
		}
		return -err.code;
	}
	return write_file_atomic(dst, data, len, 0600, ATOMIC_FSYNC_FILE | ATOMIC_FSYNC_DIR, &err);
}

static void save_last_good(const char *dir)
{
	if (strcmp(dir, LAST_GOOD_DIR) == 0 || mkdir_p(LAST_GOOD_DIR, 0700, NULL) < 0) {
		return;
	}
	if (copy_file(dir, LAST_GOOD_DIR, "compose.yaml") < 0 || copy_file(dir, LAST_GOOD_DIR, ".env") < 0) {
		blog_warn("could not keep a copy of the last good compose.yaml in %s", LAST_GOOD_DIR);
	}
}

/* A service whose new definition is broken keeps its last good one: the
 * container berthd already has runs on (or starts, at boot). */
static void keep_previous(json_object *report, const char *name, const char *service, const char *why)
{
	sup_note_failed(name, service, why);
	struct ctr *c = ctr_find(name);
	if (c == NULL || !c->has_def || c->def.service == NULL) {
		return;
	}
	char msg[300];
	snprintf(msg, sizeof(msg), "services.%s: keeps running its previous definition until compose.yaml is fixed",
		 service);
	problem(report, 0, msg);
	int down = c->state == CS_CREATED || c->state == CS_EXITED;
	if (down && !(c->user_stopped && c->def.restart == RESTART_UNLESS_STOPPED)) {
		struct berr err = {0};
		if (sup_start(c, &err) < 0) {
			problem(report, 1, err.msg);
		}
	}
}

static int dependency_recreated(const struct compose_project *p, const struct compose_service *s,
				const unsigned char *recreated)
{
	for (size_t i = 0; i < s->ndeps; i++) {
		if (!s->deps[i].restart) {
			continue;
		}
		const struct compose_service *dep = compose_service_find(p, s->deps[i].service);
		if (dep != NULL && recreated[(size_t)(dep - p->services)]) {
			return 1;
		}
	}
	return 0;
}

/* Networks are declared up front: containers create them when they join. */
static void declare_networks(const struct compose_project *p)
{
	network_forget_declarations();
	for (size_t i = 0; i < p->nnetworks; i++) {
		const struct compose_network *n = &p->networks[i];
		if (n->valid) {
			network_declare(n->name != NULL ? n->name : n->key,
					n->nsubnets > 0 ? n->subnets[0].subnet : NULL,
					n->nsubnets > 0 ? n->subnets[0].gateway : NULL, n->internal);
		}
	}
}

/* The file's problems and the start order's; services that cannot start
 * keep what they had. Returns the number of errors. */
static int report_problems(const struct compose_project *p, const struct compose_graph *g, json_object *report)
{
	int errors = p->nerrors > 0;
	for (size_t i = 0; i < p->nproblems; i++) {
		problem(report, p->problems[i].error, p->problems[i].msg);
	}
	for (size_t i = 0; i < g->nerrors; i++) {
		problem(report, 1, g->errors[i]);
		errors++;
	}
	for (size_t i = 0; i < g->nblocked; i++) {
		const struct compose_service *s = &p->services[g->blocked[i].service];
		char name[CTR_NAME_MAX];
		problem(report, 1, g->blocked[i].why);
		keep_previous(report, container_name_of(p, s->name, name, sizeof(name)), s->name, g->blocked[i].why);
		errors++;
	}
	for (size_t i = 0; i < p->nservices; i++) {
		const struct compose_service *s = &p->services[i];
		if (s->valid || !s->active) {
			continue;
		}
		/* The service's own first error says why it is down. */
		const char *why = "its definition has errors";
		for (size_t k = 0; k < p->nproblems; k++) {
			if (p->problems[k].error && p->problems[k].service != NULL &&
			    strcmp(p->problems[k].service, s->name) == 0) {
				why = p->problems[k].msg;
				break;
			}
		}
		char name[CTR_NAME_MAX];
		keep_previous(report, container_name_of(p, s->name, name, sizeof(name)), s->name, why);
	}
	return errors;
}

/* A container berthd has with the same definition: restarted when a
 * dependency it restarts with was recreated, started when it is down and
 * nobody stopped it on purpose. Returns the number of errors. */
static int keep_service(const struct compose_project *p, const struct compose_service *s, struct ctr *c,
			const unsigned char *recreated, json_object *report)
{
	struct berr err = {0};
	if (c->state == CS_RUNNING && dependency_recreated(p, s, recreated)) {
		if (sup_stop(c, 0, -1, AFTER_START, &err) < 0) {
			problem(report, 1, err.msg);
			return 1;
		}
		add_str(report, "restarted", c->def.name);
		return 0;
	}
	add_str(report, "unchanged", c->def.name);
	int user_down = c->user_stopped && c->def.restart == RESTART_UNLESS_STOPPED;
	int down = c->state == CS_CREATED || c->state == CS_EXITED || c->state == CS_FAILED;
	if (down && !user_down && !(c->ran && c->state == CS_EXITED && c->def.restart == RESTART_NO) &&
	    sup_start(c, &err) < 0) {
		problem(report, 1, err.msg);
		return 1;
	}
	return 0;
}

/* One container of a service (replica: 0 to replicas - 1), in start
 * order: created, recreated when its definition changed, or kept. Returns
 * the number of errors. */
static int apply_container(const struct compose_project *p, size_t index, unsigned replica, unsigned char *recreated,
			   json_object *report)
{
	const struct compose_service *s = &p->services[index];
	char name[CTR_NAME_MAX];
	if (compose_container_name(p, s, replica, name, sizeof(name)) < 0) {
		/* compose refused such names; the guard for any other way in */
		problem(report, 1, "a container name is too long");
		return 1;
	}
	struct service_in in = {.project = p, .service = s, .name = name};
	struct ctr_def def;
	struct berr err = {0};
	if (build_def(&in, &def, &err) < 0) {
		if (err.code == EINPROGRESS) {
			sup_note_waiting(name, s->name, s->image, err.msg);
			add_str(report, "pulling", name);
			return 0;
		}
		problem(report, 1, err.msg);
		keep_previous(report, name, s->name, err.msg);
		return 1;
	}
	int errors = 0;
	struct ctr *c = ctr_find(name);
	if (c != NULL && c->has_def && c->def.service == NULL) {
		char msg[600];
		snprintf(msg, sizeof(msg), "services.%s: the name %s is taken by a container of `berth run`", s->name,
			 name);
		problem(report, 1, msg);
		errors = 1;
	} else if (c == NULL || !c->has_def) {
		if (sup_create(&def, &c, &err) < 0 || sup_start(c, &err) < 0) {
			problem(report, 1, err.msg);
			errors = 1;
		} else {
			add_str(report, "created", name);
		}
	} else if (strcmp(c->def.hash, def.hash) != 0) {
		c->error[0] = '\0';
		if (sup_replace(c, &def, &err) < 0) {
			problem(report, 1, err.msg);
			errors = 1;
		} else {
			add_str(report, "recreated", name);
			recreated[index] = 1;
		}
	} else {
		c->error[0] = '\0';
		errors = keep_service(p, s, c, recreated, report);
	}
	ctr_def_clear(&def);
	return errors;
}

/* Each container of a service (replicas: N of them, named as Docker
 * Compose names them). */
static int apply_service(const struct compose_project *p, size_t index, unsigned char *recreated, json_object *report)
{
	const struct compose_service *s = &p->services[index];
	unsigned n = s->replicas; /* scale: 0 runs none */
	int errors = 0;
	for (unsigned i = 0; i < n; i++) {
		errors += apply_container(p, index, i, recreated, report);
	}
	return errors;
}

/* Whether container name is one of service s's (scaled down: no more). */
static int service_has(const struct compose_project *p, const struct compose_service *s, const char *name)
{
	unsigned n = s->replicas; /* scale: 0 runs none */
	char mine[CTR_NAME_MAX];
	for (unsigned i = 0; i < n; i++) {
		if (compose_container_name(p, s, i, mine, sizeof(mine)) == 0 && strcmp(mine, name) == 0) {
			return 1;
		}
	}
	return 0;
}

/* Containers of services that are gone (or now have another name). */
static void remove_gone(const struct compose_project *p, json_object *report)
{
	ctr_foreach_safe(c, next) {
		if (c->def.service == NULL) {
			continue;
		}
		const struct compose_service *s = compose_service_find(p, c->def.service);
		if (s != NULL && s->active && service_has(p, s, c->def.name)) {
			continue;
		}
		add_str(report, "removed", c->def.name);
		if (!c->has_def) {
			ctr_delete(c);
			continue;
		}
		struct berr err = {0};
		if (sup_stop(c, 0, -1, AFTER_REMOVE, &err) < 0) {
			problem(report, 1, err.msg);
		}
	}
}

static int apply_project(struct compose_project *p, json_object *report)
{
	declare_networks(p);
	struct compose_graph g;
	struct berr err = {0};
	if (compose_graph_build(p, &g, &err) < 0) {
		for (size_t i = 0; i < p->nproblems; i++) {
			problem(report, p->problems[i].error, p->problems[i].msg);
		}
		problem(report, 1, err.msg);
		return -1;
	}
	int errors = report_problems(p, &g, report);
	/* Services recreated in this pass, by index: a dependent with
	 * depends_on.X.restart: true is restarted after X (as Compose does). */
	auto_free unsigned char *recreated = calloc(p->nservices + 1, 1);
	if (recreated == NULL) {
		compose_graph_free(&g);
		problem(report, 1, "out of memory");
		return -1;
	}
	/* In start order, so that a dependency exists before its dependents. */
	for (size_t k = 0; k < g.norder; k++) {
		errors += apply_service(p, g.order[k], recreated, report);
	}
	remove_gone(p, report);
	compose_graph_free(&g);
	return errors > 0 ? -1 : 0;
}

/* Reads CONFIG (or the last good copy): the same loader as `berth config
 * check`, with this host's rules. */
static int load_project(const char *dir, struct compose_project *p, struct berr *err)
{
	struct compose_options opt = {.config_dir = D.config_dir, .host = &host_cfg};
	return compose_load_dir(p, dir, &opt, err);
}

int apply_compose(json_object *report)
{
	static int first = 1;
	int boot = first;
	first = 0;
	char path[PATH_MAX];
	hostcfg_free(&host_cfg);
	hostcfg_defaults(&host_cfg);
	path_join(path, sizeof(path), D.config_dir, "host.yaml");
	hostcfg_load(&host_cfg, path, "host.yaml");
	path_join(path, sizeof(path), D.config_dir, "compose.yaml");
	if (access(path, F_OK) < 0) {
		blog_info("%s: not present; no system containers", path);
		struct compose_project empty;
		memset(&empty, 0, sizeof(empty));
		return boot ? 0 : apply_project(&empty, report);
	}
	struct compose_project p;
	struct berr err = {0};
	const char *dir = D.config_dir;
	if (load_project(dir, &p, &err) < 0) {
		problem(report, 1, err.msg);
		compose_free(&p);
		/* A file that cannot be read at all changes nothing that runs;
		 * at boot, the last good one brings the services up. */
		if (!boot || access(LAST_GOOD_DIR "/compose.yaml", F_OK) < 0) {
			return -1;
		}
		blog_err("using the last good compose.yaml (%s) until %s is fixed", LAST_GOOD_DIR, path);
		problem(report, 0, "using the last good compose.yaml from " LAST_GOOD_DIR);
		dir = LAST_GOOD_DIR;
		if (load_project(dir, &p, &err) < 0) {
			problem(report, 1, err.msg);
			compose_free(&p);
			return -1;
		}
	}
	int ret = apply_project(&p, report);
	if (ret == 0) {
		save_last_good(dir);
	}
	compose_free(&p);
	return ret;
}

/* ---- berth run ------------------------------------------------------------------------------ */

/* A compose document of one service, so that `berth run` gets the same
 * checks and the same translation as compose.yaml. Strings are written as
 * JSON (valid YAML) with every $ doubled (no interpolation). */
static void yaml_str(FILE *f, const char *s)
{
	json_object *js = json_object_new_string(s);
	const char *text = json_object_to_json_string_ext(js, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	for (const char *c = text; *c != '\0'; c++) {
		fputc(*c, f);
		if (*c == '$') {
			fputc('$', f);
		}
	}
	json_object_put(js);
}

static const char *req_s(json_object *req, const char *key)
{
	json_object *v = NULL;
	return json_object_object_get_ex(req, key, &v) && json_object_is_type(v, json_type_string)
		       ? json_object_get_string(v)
		       : NULL;
}

static int req_b(json_object *req, const char *key)
{
	json_object *v = NULL;
	return json_object_object_get_ex(req, key, &v) && json_object_get_boolean(v);
}

static void yaml_list(FILE *f, json_object *req, const char *key, const char *as)
{
	json_object *a = NULL;
	if (!json_object_object_get_ex(req, key, &a) || !json_object_is_type(a, json_type_array)) {
		return;
	}
	fprintf(f, "    %s: [", as);
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		const char *s = json_object_get_string(json_object_array_get_idx(a, i));
		fprintf(f, "%s", i > 0 ? ", " : "");
		yaml_str(f, s != NULL ? s : "");
	}
	fprintf(f, "]\n");
}

static void make_name(const char *image, char *out, size_t size)
{
	const char *base = strrchr(image, '/');
	base = base != NULL ? base + 1 : image;
	size_t n = strcspn(base, ":@");
	unsigned char rnd[3] = {0};
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (read(fd, rnd, sizeof(rnd)) < 0) {
			rnd[0] = (unsigned char)getpid();
		}
		close(fd);
	}
	snprintf(out, size, "%.*s-%02x%02x%02x", (int)(n > 40 ? 40 : n), base, rnd[0], rnd[1], rnd[2]);
	for (char *c = out; *c != '\0'; c++) {
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '-' ||
		      *c == '_' || *c == '.')) {
			*c = '-';
		}
	}
}

/* The container's name: --name, else one made from the image. */
static int run_name(json_object *req, const char *image, char *name, size_t size, struct berr *err)
{
	const char *given = req_s(req, "name");
	if (given != NULL) {
		if (ctr_valid_name(given, err) < 0) {
			return -EINVAL;
		}
		copy_string(name, size, given);
	} else {
		make_name(image, name, size);
	}
	if (ctr_find(name) != NULL) {
		return berr_setx(err, EEXIST, "the container name '%s' is in use", name);
	}
	return 0;
}

/* Named volumes of -v must be declared for compose. */
static void run_volumes(FILE *f, json_object *req)
{
	json_object *vols = NULL;
	if (!json_object_object_get_ex(req, "volumes", &vols) || json_object_array_length(vols) == 0) {
		return;
	}
	int header = 0;
	for (size_t i = 0; i < json_object_array_length(vols); i++) {
		const char *spec = json_object_get_string(json_object_array_get_idx(vols, i));
		if (spec == NULL || spec[0] == '/' || spec[0] == '.' || strchr(spec, ':') == NULL) {
			continue;
		}
		if (!header) {
			fprintf(f, "volumes:\n");
			header = 1;
		}
		fprintf(f, "  ");
		char vol[CTR_NAME_MAX];
		snprintf(vol, sizeof(vol), "%.*s", (int)strcspn(spec, ":"), spec);
		yaml_str(f, vol);
		fprintf(f, ": {}\n");
	}
}

/* The request as a compose file of one service. */
static void run_yaml(FILE *f, json_object *req, const char *name, const char *image)
{
	fprintf(f, "services:\n  %s:\n    image: ", name);
	yaml_str(f, image);
	fprintf(f, "\n");
	json_object *v = NULL;
	if (json_object_object_get_ex(req, "args", &v)) {
		yaml_list(f, req, "args", "command");
	}
	const char *entrypoint = req_s(req, "entrypoint");
	if (entrypoint != NULL) {
		/* docker run --entrypoint names one program, never split. */
		fprintf(f, "    entrypoint: [");
		if (entrypoint[0] != '\0') {
			yaml_str(f, entrypoint);
		}
		fprintf(f, "]\n");
	}
	yaml_list(f, req, "env", "environment");
	yaml_list(f, req, "volumes", "volumes");
	static const char *const strings[][2] = {
		{"workdir", "working_dir"},  {"user", "user"}, {"restart", "restart"}, {"hostname", "hostname"},
		{"network", "network_mode"},
	};
	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++) {
		const char *val = req_s(req, strings[i][0]);
		if (val != NULL) {
			fprintf(f, "    %s: ", strings[i][1]);
			yaml_str(f, val);
			fprintf(f, "\n");
		}
	}
	fprintf(f, "    tty: %s\n    stdin_open: %s\n    read_only: %s\n    init: %s\n",
		req_b(req, "tty") ? "true" : "false", req_b(req, "stdin") ? "true" : "false",
		req_b(req, "read_only") ? "true" : "false", req_b(req, "init") ? "true" : "false");
	run_volumes(f, req);
}

int apply_run_def(json_object *req, struct ctr_def *def, struct berr *err)
{
	const char *image = req_s(req, "image");
	if (image == NULL) {
		return berr_setx(err, EINVAL, "run: no image given");
	}
	char name[CTR_NAME_MAX];
	if (run_name(req, image, name, sizeof(name), err) < 0) {
		return -err->code;
	}
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (f == NULL) {
		return berr_set(err, ENOMEM, "run");
	}
	run_yaml(f, req, name, image);
	fclose(f);
	struct compose_project p;
	/* The host's rules as for compose.yaml: the same bind mounts. */
	struct compose_options opt = {
		.file_name = "berth run", .dir = "/", .config_dir = D.config_dir, .host = &host_cfg};
	int ret = compose_parse(&p, text, len, &opt, err);
	free(text);
	if (ret > 0) {
		/* The first error says what is wrong with the options. */
		for (size_t i = 0; i < p.nproblems; i++) {
			if (p.problems[i].error) {
				berr_setx(err, EINVAL, "%s", p.problems[i].msg);
				break;
			}
		}
		ret = -EINVAL;
	}
	if (ret == 0) {
		struct service_in in = {
			.project = &p,
			.service = &p.services[0],
			.name = name,
			.adhoc = 1,
			.auto_remove = req_b(req, "rm"),
		};
		ret = build_def(&in, def, err);
	}
	compose_free(&p);
	return ret;
}
