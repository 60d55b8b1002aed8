/* config.json writer (see ociwrite.h). Built as a json-c tree, then
 * printed: json-c escapes strings, so no value can break the JSON. A field
 * is written when the model says it is set (has_* flags, non-NULL
 * pointers, non-empty lists), which is what oci_config_parse reads back. */
#include "compose/ociwrite.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <linux/ioprio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/fsutil.h"

struct writer {
	int oom;
};

static json_object *new_obj(struct writer *w)
{
	json_object *o = json_object_new_object();
	if (o == NULL) {
		w->oom = 1;
	}
	return o;
}

static json_object *new_arr(struct writer *w)
{
	json_object *a = json_object_new_array();
	if (a == NULL) {
		w->oom = 1;
	}
	return a;
}

/* Adds v to parent under key; takes v in every case. */
static void put(struct writer *w, json_object *parent, const char *key, json_object *v)
{
	if (v == NULL) {
		w->oom = 1;
		return;
	}
	if (parent == NULL || json_object_object_add(parent, key, v) != 0) {
		json_object_put(v);
		w->oom = 1;
	}
}

static void push(struct writer *w, json_object *arr, json_object *v)
{
	if (v == NULL) {
		w->oom = 1;
		return;
	}
	if (arr == NULL || json_object_array_add(arr, v) != 0) {
		json_object_put(v);
		w->oom = 1;
	}
}

static void put_str(struct writer *w, json_object *parent, const char *key, const char *s)
{
	if (s != NULL) {
		put(w, parent, key, json_object_new_string(s));
	}
}

static void put_i64(struct writer *w, json_object *parent, const char *key, int64_t v)
{
	put(w, parent, key, json_object_new_int64(v));
}

static void put_u64(struct writer *w, json_object *parent, const char *key, uint64_t v)
{
	put(w, parent, key, json_object_new_uint64(v));
}

static void put_bool(struct writer *w, json_object *parent, const char *key, int v)
{
	put(w, parent, key, json_object_new_boolean(v != 0));
}

static json_object *strings(struct writer *w, char *const *v, size_t n)
{
	json_object *a = new_arr(w);
	for (size_t i = 0; a != NULL && i < n; i++) {
		push(w, a, json_object_new_string(v[i] ? v[i] : ""));
	}
	return a;
}

static void put_strings(struct writer *w, json_object *parent, const char *key, char *const *v, size_t n)
{
	if (n > 0) {
		put(w, parent, key, strings(w, v, n));
	}
}

static json_object *id_maps(struct writer *w, const struct oci_id_map *m, size_t n)
{
	json_object *a = new_arr(w);
	for (size_t i = 0; a != NULL && i < n; i++) {
		json_object *o = new_obj(w);
		put_i64(w, o, "containerID", m[i].container_id);
		put_i64(w, o, "hostID", m[i].host_id);
		put_i64(w, o, "size", m[i].size);
		push(w, a, o);
	}
	return a;
}

static json_object *kv_object(struct writer *w, const struct oci_kv *kv, size_t n)
{
	json_object *o = new_obj(w);
	for (size_t i = 0; o != NULL && i < n; i++) {
		put_str(w, o, kv[i].key, kv[i].value ? kv[i].value : "");
	}
	return o;
}

/* ---- sections ---------------------------------------------------------------------------- */

static json_object *caps_set(struct writer *w, uint64_t mask)
{
	json_object *a = new_arr(w);
	for (int c = 0; a != NULL && c < 64; c++) {
		const char *name = oci_cap_name(c);
		if ((mask & (UINT64_C(1) << c)) && name != NULL) {
			push(w, a, json_object_new_string(name));
		}
	}
	return a;
}

static json_object *process(struct writer *w, const struct oci_process *p)
{
	json_object *o = new_obj(w);
	put_bool(w, o, "terminal", p->terminal);
	if (p->has_console_size) {
		json_object *cs = new_obj(w);
		put_i64(w, cs, "height", p->console_height);
		put_i64(w, cs, "width", p->console_width);
		put(w, o, "consoleSize", cs);
	}
	json_object *u = new_obj(w);
	put_i64(w, u, "uid", p->user.uid);
	put_i64(w, u, "gid", p->user.gid);
	if (p->user.has_umask) {
		put_i64(w, u, "umask", p->user.umask);
	}
	if (p->user.nadditional_gids > 0) {
		json_object *g = new_arr(w);
		for (size_t i = 0; g != NULL && i < p->user.nadditional_gids; i++) {
			push(w, g, json_object_new_int64(p->user.additional_gids[i]));
		}
		put(w, u, "additionalGids", g);
	}
	put(w, o, "user", u);
	put(w, o, "args", strings(w, p->args, p->nargs));
	put_strings(w, o, "env", p->env, p->nenv);
	put_str(w, o, "cwd", p->cwd);
	if (p->has_caps) {
		json_object *c = new_obj(w);
		put(w, c, "bounding", caps_set(w, p->caps.bounding));
		put(w, c, "effective", caps_set(w, p->caps.effective));
		put(w, c, "inheritable", caps_set(w, p->caps.inheritable));
		put(w, c, "permitted", caps_set(w, p->caps.permitted));
		put(w, c, "ambient", caps_set(w, p->caps.ambient));
		put(w, o, "capabilities", c);
	}
	if (p->nrlimits > 0) {
		json_object *a = new_arr(w);
		for (size_t i = 0; a != NULL && i < p->nrlimits; i++) {
			json_object *r = new_obj(w);
			put_str(w, r, "type", oci_rlimit_name(p->rlimits[i].resource));
			put_u64(w, r, "soft", p->rlimits[i].soft);
			put_u64(w, r, "hard", p->rlimits[i].hard);
			push(w, a, r);
		}
		put(w, o, "rlimits", a);
	}
	put_bool(w, o, "noNewPrivileges", p->no_new_privileges);
	if (p->has_oom_score_adj) {
		put_i64(w, o, "oomScoreAdj", p->oom_score_adj);
	}
	if (p->has_io_priority) {
		json_object *io = new_obj(w);
		const char *cls = p->io_priority_class == IOPRIO_CLASS_RT     ? "IOPRIO_CLASS_RT"
				  : p->io_priority_class == IOPRIO_CLASS_IDLE ? "IOPRIO_CLASS_IDLE"
									      : "IOPRIO_CLASS_BE";
		put_str(w, io, "class", cls);
		put_i64(w, io, "priority", p->io_priority);
		put(w, o, "ioPriority", io);
	}
	return o;
}

static json_object *mounts(struct writer *w, const struct oci_config *c)
{
	json_object *a = new_arr(w);
	for (size_t i = 0; a != NULL && i < c->nmounts; i++) {
		const struct oci_mount *m = &c->mounts[i];
		json_object *o = new_obj(w);
		put_str(w, o, "destination", m->destination);
		put_str(w, o, "type", m->type);
		put_str(w, o, "source", m->source);
		put_strings(w, o, "options", m->options, m->noptions);
		if (m->nuid_maps > 0) {
			put(w, o, "uidMappings", id_maps(w, m->uid_maps, m->nuid_maps));
		}
		if (m->ngid_maps > 0) {
			put(w, o, "gidMappings", id_maps(w, m->gid_maps, m->ngid_maps));
		}
		push(w, a, o);
	}
	return a;
}

static json_object *hooks(struct writer *w, const struct oci_hooks *h)
{
	json_object *o = new_obj(w);
	for (int k = 0; o != NULL && k < OCI_HOOK_KINDS; k++) {
		if (h->count[k] == 0) {
			continue;
		}
		json_object *a = new_arr(w);
		for (size_t i = 0; a != NULL && i < h->count[k]; i++) {
			const struct oci_hook *hk = &h->list[k][i];
			json_object *ho = new_obj(w);
			put_str(w, ho, "path", hk->path);
			put_strings(w, ho, "args", hk->args, hk->nargs);
			put_strings(w, ho, "env", hk->env, hk->nenv);
			if (hk->timeout > 0) {
				put_i64(w, ho, "timeout", hk->timeout);
			}
			push(w, a, ho);
		}
		put(w, o, oci_hook_kind_name(k), a);
	}
	return o;
}

static json_object *throttles(struct writer *w, const struct oci_throttle_device *d, size_t n)
{
	json_object *a = new_arr(w);
	for (size_t i = 0; a != NULL && i < n; i++) {
		json_object *o = new_obj(w);
		put_i64(w, o, "major", d[i].major);
		put_i64(w, o, "minor", d[i].minor);
		put_u64(w, o, "rate", d[i].rate);
		push(w, a, o);
	}
	return a;
}

static json_object *device_rules(struct writer *w, const struct oci_resources *r)
{
	json_object *a = new_arr(w);
	for (size_t i = 0; a != NULL && i < r->ndevices; i++) {
		const struct oci_device_rule *d = &r->devices[i];
		json_object *dr = new_obj(w);
		char type[2] = {d->type ? d->type : 'a', '\0'};
		put_bool(w, dr, "allow", d->allow);
		put_str(w, dr, "type", type);
		if (d->major != -1) {
			put_i64(w, dr, "major", d->major);
		}
		if (d->minor != -1) {
			put_i64(w, dr, "minor", d->minor);
		}
		if (d->access[0] != '\0') {
			put_str(w, dr, "access", d->access);
		}
		push(w, a, dr);
	}
	return a;
}

static json_object *memory(struct writer *w, const struct oci_resources *r)
{
	json_object *m = new_obj(w);
	if (r->has_memory_limit) {
		put_i64(w, m, "limit", r->memory_limit);
	}
	if (r->has_memory_reservation) {
		put_i64(w, m, "reservation", r->memory_reservation);
	}
	if (r->has_memory_swap) {
		put_i64(w, m, "swap", r->memory_swap);
	}
	if (r->has_memory_swappiness) {
		put_u64(w, m, "swappiness", r->memory_swappiness);
	}
	if (r->disable_oom_killer) {
		put_bool(w, m, "disableOOMKiller", 1);
	}
	return m;
}

static json_object *cpu(struct writer *w, const struct oci_resources *r)
{
	json_object *c = new_obj(w);
	if (r->has_cpu_shares) {
		put_u64(w, c, "shares", r->cpu_shares);
	}
	if (r->has_cpu_quota) {
		put_i64(w, c, "quota", r->cpu_quota);
	}
	if (r->has_cpu_period) {
		put_u64(w, c, "period", r->cpu_period);
	}
	if (r->has_cpu_burst) {
		put_u64(w, c, "burst", r->cpu_burst);
	}
	if (r->has_cpu_idle) {
		put_i64(w, c, "idle", r->cpu_idle);
	}
	put_str(w, c, "cpus", r->cpuset_cpus);
	put_str(w, c, "mems", r->cpuset_mems);
	return c;
}

static json_object *weight_devices(struct writer *w, const struct oci_resources *r)
{
	json_object *a = new_arr(w);
	for (size_t i = 0; a != NULL && i < r->nweight_devices; i++) {
		const struct oci_weight_device *d = &r->weight_devices[i];
		json_object *wd = new_obj(w);
		put_i64(w, wd, "major", d->major);
		put_i64(w, wd, "minor", d->minor);
		if (d->has_weight) {
			put_i64(w, wd, "weight", d->weight);
		}
		if (d->has_leaf_weight) {
			put_i64(w, wd, "leafWeight", d->leaf_weight);
		}
		push(w, a, wd);
	}
	return a;
}

static json_object *block_io(struct writer *w, const struct oci_resources *r)
{
	json_object *b = new_obj(w);
	if (r->has_blkio_weight) {
		put_i64(w, b, "weight", r->blkio_weight);
	}
	if (r->nweight_devices > 0) {
		put(w, b, "weightDevice", weight_devices(w, r));
	}
	const struct {
		const char *key;
		const struct oci_throttle_device *d;
		size_t n;
	} throttled[] = {
		{"throttleReadBpsDevice", r->throttle_read_bps, r->nthrottle_read_bps},
		{"throttleWriteBpsDevice", r->throttle_write_bps, r->nthrottle_write_bps},
		{"throttleReadIOPSDevice", r->throttle_read_iops, r->nthrottle_read_iops},
		{"throttleWriteIOPSDevice", r->throttle_write_iops, r->nthrottle_write_iops},
	};
	for (size_t i = 0; i < sizeof(throttled) / sizeof(throttled[0]); i++) {
		if (throttled[i].n > 0) {
			put(w, b, throttled[i].key, throttles(w, throttled[i].d, throttled[i].n));
		}
	}
	return b;
}

static json_object *resources(struct writer *w, const struct oci_resources *r)
{
	json_object *o = new_obj(w);
	if (r->ndevices > 0) {
		put(w, o, "devices", device_rules(w, r));
	}
	if (r->has_memory_limit || r->has_memory_reservation || r->has_memory_swap || r->has_memory_swappiness ||
	    r->disable_oom_killer) {
		put(w, o, "memory", memory(w, r));
	}
	if (r->has_cpu_shares || r->has_cpu_quota || r->has_cpu_period || r->has_cpu_burst || r->has_cpu_idle ||
	    r->cpuset_cpus || r->cpuset_mems) {
		put(w, o, "cpu", cpu(w, r));
	}
	if (r->has_pids_limit) {
		json_object *p = new_obj(w);
		put_i64(w, p, "limit", r->pids_limit);
		put(w, o, "pids", p);
	}
	if (r->has_blkio_weight || r->nweight_devices || r->nthrottle_read_bps || r->nthrottle_write_bps ||
	    r->nthrottle_read_iops || r->nthrottle_write_iops) {
		put(w, o, "blockIO", block_io(w, r));
	}
	if (r->nunified > 0) {
		put(w, o, "unified", kv_object(w, r->unified, r->nunified));
	}
	return o;
}

static json_object *seccomp(struct writer *w, const struct oci_seccomp *s)
{
	json_object *o = new_obj(w);
	put_str(w, o, "defaultAction", oci_seccomp_action_name(s->default_action));
	if (s->has_default_errno_ret) {
		put_i64(w, o, "defaultErrnoRet", s->default_errno_ret);
	}
	put_strings(w, o, "architectures", s->architectures, s->narchitectures);
	put_strings(w, o, "flags", s->flags, s->nflags);
	json_object *a = new_arr(w);
	for (size_t i = 0; a != NULL && i < s->nsyscalls; i++) {
		const struct oci_seccomp_rule *r = &s->syscalls[i];
		json_object *ro = new_obj(w);
		put(w, ro, "names", strings(w, r->names, r->nnames));
		put_str(w, ro, "action", oci_seccomp_action_name(r->action));
		if (r->has_errno_ret) {
			put_i64(w, ro, "errnoRet", r->errno_ret);
		}
		if (r->nargs > 0) {
			json_object *args = new_arr(w);
			for (size_t j = 0; args != NULL && j < r->nargs; j++) {
				json_object *ao = new_obj(w);
				put_i64(w, ao, "index", r->args[j].index);
				put_u64(w, ao, "value", r->args[j].value);
				if (r->args[j].value_two != 0) {
					put_u64(w, ao, "valueTwo", r->args[j].value_two);
				}
				put_str(w, ao, "op", oci_seccomp_op_name(r->args[j].op));
				push(w, args, ao);
			}
			put(w, ro, "args", args);
		}
		push(w, a, ro);
	}
	put(w, o, "syscalls", a);
	return o;
}

static json_object *linux_section(struct writer *w, const struct oci_linux *l)
{
	json_object *o = new_obj(w);
	json_object *ns = new_arr(w);
	for (size_t i = 0; ns != NULL && i < l->nnamespaces; i++) {
		json_object *n = new_obj(w);
		put_str(w, n, "type", oci_ns_type_name(l->namespaces[i].type));
		put_str(w, n, "path", l->namespaces[i].path);
		push(w, ns, n);
	}
	put(w, o, "namespaces", ns);
	if (l->nuid_maps > 0) {
		put(w, o, "uidMappings", id_maps(w, l->uid_maps, l->nuid_maps));
	}
	if (l->ngid_maps > 0) {
		put(w, o, "gidMappings", id_maps(w, l->gid_maps, l->ngid_maps));
	}
	if (l->ndevices > 0) {
		json_object *a = new_arr(w);
		for (size_t i = 0; a != NULL && i < l->ndevices; i++) {
			const struct oci_device *d = &l->devices[i];
			json_object *dv = new_obj(w);
			char type[2] = {d->type, '\0'};
			put_str(w, dv, "type", type);
			put_str(w, dv, "path", d->path);
			put_i64(w, dv, "major", d->major);
			put_i64(w, dv, "minor", d->minor);
			if (d->has_file_mode) {
				put_i64(w, dv, "fileMode", d->file_mode);
			}
			if (d->has_uid) {
				put_i64(w, dv, "uid", d->uid);
			}
			if (d->has_gid) {
				put_i64(w, dv, "gid", d->gid);
			}
			push(w, a, dv);
		}
		put(w, o, "devices", a);
	}
	put_str(w, o, "cgroupsPath", l->cgroups_path);
	if (l->has_resources) {
		put(w, o, "resources", resources(w, &l->resources));
	}
	if (l->nsysctl > 0) {
		put(w, o, "sysctl", kv_object(w, l->sysctl, l->nsysctl));
	}
	if (l->seccomp != NULL) {
		put(w, o, "seccomp", seccomp(w, l->seccomp));
	}
	if (l->rootfs_propagation != 0) {
		put_str(w, o, "rootfsPropagation", oci_propagation_name(l->rootfs_propagation));
	}
	put_strings(w, o, "maskedPaths", l->masked_paths, l->nmasked_paths);
	put_strings(w, o, "readonlyPaths", l->readonly_paths, l->nreadonly_paths);
	if (l->has_time_offsets) {
		json_object *to = new_obj(w);
		json_object *mono = new_obj(w);
		json_object *boot = new_obj(w);
		put_i64(w, mono, "secs", l->monotonic_secs);
		put_i64(w, mono, "nanosecs", l->monotonic_nanosecs);
		put_i64(w, boot, "secs", l->boottime_secs);
		put_i64(w, boot, "nanosecs", l->boottime_nanosecs);
		put(w, to, "monotonic", mono);
		put(w, to, "boottime", boot);
		put(w, o, "timeOffsets", to);
	}
	if (l->has_personality) {
		json_object *p = new_obj(w);
		put_str(w, p, "domain", l->personality == PER_LINUX32 ? "LINUX32" : "LINUX");
		put(w, o, "personality", p);
	}
	return o;
}

int oci_config_to_json(const struct oci_config *cfg, char **out, size_t *len, struct berr *err)
{
	struct writer w = {0};
	json_object *root = new_obj(&w);
	put_str(&w, root, "ociVersion", cfg->oci_version ? cfg->oci_version : "1.2.0");
	json_object *r = new_obj(&w);
	put_str(&w, r, "path", cfg->root_path);
	put_bool(&w, r, "readonly", cfg->root_readonly);
	put(&w, root, "root", r);
	if (cfg->has_process) {
		put(&w, root, "process", process(&w, &cfg->process));
	}
	put_str(&w, root, "hostname", cfg->hostname);
	put_str(&w, root, "domainname", cfg->domainname);
	put(&w, root, "mounts", mounts(&w, cfg));
	int any_hooks = 0;
	for (int k = 0; k < OCI_HOOK_KINDS; k++) {
		any_hooks |= cfg->hooks.count[k] > 0;
	}
	if (any_hooks) {
		put(&w, root, "hooks", hooks(&w, &cfg->hooks));
	}
	if (cfg->nannotations > 0) {
		put(&w, root, "annotations", kv_object(&w, cfg->annotations, cfg->nannotations));
	}
	put(&w, root, "linux", linux_section(&w, &cfg->linux_));
	if (w.oom || root == NULL) {
		json_object_put(root);
		return berr_set(err, ENOMEM, "config.json");
	}
	size_t n = 0;
	const char *text =
		json_object_to_json_string_length(root,
						  JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_PRETTY_TAB |
							  JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE,
						  &n);
	char *copy = text ? malloc(n + 2) : NULL;
	if (copy == NULL) {
		json_object_put(root);
		return berr_set(err, ENOMEM, "config.json");
	}
	memcpy(copy, text, n);
	copy[n++] = '\n';
	copy[n] = '\0';
	json_object_put(root);
	*out = copy;
	*len = n;
	return 0;
}

int oci_config_write(const struct oci_config *cfg, const char *bundle, struct berr *err)
{
	char path[PATH_MAX];
	if (path_join(path, sizeof(path), bundle, "config.json") < 0) {
		return berr_setx(err, ENAMETOOLONG, "bundle path too long: %s", bundle);
	}
	auto_free char *json = NULL;
	size_t len;
	int ret = oci_config_to_json(cfg, &json, &len, err);
	if (ret < 0) {
		return ret;
	}
	return write_file_atomic(path, json, len, 0600, ATOMIC_FSYNC_FILE, err);
}
