"""The files of Berth's boot state, as the image builder and the tests make
and read them: GRUB environment blocks (the format of lib/grubenv.c), the
two copies of the boot state (lib/bootstate.h names the variables) and a
slot's slot.env (runtime/osupdate/slot.c writes the same on the host).

Kept in step with the C code by the QEMU tests: an image made here boots,
and the host's own writes are read back here."""
import hashlib
import uuid

SIZE = 1024
SECTOR = 512
SIGNATURE = b"# GRUB Environment Block\n"
VERITY_NAME = "vroot"


def stable_uuid(name):
    """Partition and disk GUIDs derived from names: two builds of the same
    image get the same table, and a slot's PARTUUID is known in advance."""
    return str(uuid.UUID(bytes=hashlib.sha256(b"berth:" + name.encode()).digest()[:16], version=4)).upper()


def _line(key, value):
    esc = value.replace("\\", "\\\\").replace("\n", "\\\n")
    return f"{key}={esc}\n".encode()


def format_env(variables, tail_key=None):
    """variables: [(key, value)] in order. tail_key's line goes last, wholly
    in the block's last sector (as lib/grubenv.c's grubenv_format)."""
    blk = bytearray(b"#" * SIZE)
    body = SIGNATURE + b"".join(_line(k, v) for k, v in variables if k != tail_key)
    tail = b"".join(_line(k, v) for k, v in variables if k == tail_key)
    room = SIZE - (len(tail) + 2 if tail else 1)
    if len(body) > room:
        raise ValueError("the variables do not fit in a GRUB environment block")
    blk[:len(body)] = body
    if tail:
        start = max(SIZE - 1 - len(tail), SIZE - SECTOR)
        if len(body) + 2 > start:
            raise ValueError("the variables do not fit in a GRUB environment block")
        blk[start - 1] = ord("\n")
        blk[start:start + len(tail)] = tail
    return bytes(blk)


def parse_env(blk):
    """A dict of the variables, read as GRUB reads them; None without the
    signature."""
    if not blk.startswith(SIGNATURE):
        return None
    out = {}
    p = len(SIGNATURE)
    end = len(blk)

    def line_end(q):
        while q < end and blk[q] != ord("\n"):
            q += 2 if blk[q] == ord("\\") else 1
        return q

    while p < end:
        if blk[p] == ord("#"):
            p = line_end(p) + 1
            continue
        eq = blk.find(b"=", p)
        if eq < 0:
            break
        vend = line_end(eq + 1)
        if vend >= end:
            break
        raw = blk[eq + 1:vend]
        value = bytearray()
        i = 0
        while i < len(raw):
            if raw[i] == ord("\\"):
                i += 1
            value.append(raw[i])
            i += 1
        out[blk[p:eq].decode(errors="replace")] = value.decode(errors="replace")
        p = vend + 1
    return out


def state_env(seq=1, slot="A", trial="-", tries=0, state_a="good", state_b="empty", extra=()):
    """A copy of the boot state (lib/bootstate.c's bootstate_to_env)."""
    s = f"{seq:010d}"
    variables = [("berth_seq", s), ("berth_slot", slot), ("berth_trial", trial), ("berth_tries", str(tries)),
                 ("berth_state_A", state_a), ("berth_state_B", state_b)] + list(extra) + [("berth_seqe", s)]
    return format_env(variables, tail_key="berth_seqe")


def read_state(blk):
    """The boot state a copy holds, or None when it is torn or no block
    (berth_seq != berth_seqe)."""
    env = parse_env(blk)
    if env is None or env.get("berth_seq") is None or env.get("berth_seq") != env.get("berth_seqe"):
        return None
    return env


def verity_table(partuuid, data_blocks, root_hash, salt, block=4096):
    """dm-mod.create='s value: the verity target over the slot's image, its
    tree right after it on the same partition (no superblock), as dm-0."""
    dev = f"PARTUUID={partuuid.lower()}"
    return (f"{VERITY_NAME},,0,ro,0 {data_blocks * block // 512} verity 1 {dev} {dev} {block} {block} "
            f"{data_blocks} {data_blocks} sha256 {root_hash} {salt}")


def slot_env(partuuid, data_blocks, root_hash, salt, cmdline, version, build):
    args = f"dm-mod.waitfor=PARTUUID={partuuid.lower()} {cmdline}"
    return format_env([("berth_dm", verity_table(partuuid, data_blocks, root_hash, salt)),
                       ("berth_args", args), ("berth_version", version), ("berth_build", build),
                       ("berth_root_hash", root_hash)])


def read_verity_env(path):
    """The VERITY_* lines image-build/mkverity writes."""
    out = {}
    for line in open(path):
        k, _, v = line.strip().partition("=")
        out[k] = v
    return {"block": int(out["VERITY_BLOCK"]), "data_blocks": int(out["VERITY_DATA_BLOCKS"]),
            "root_hash": out["VERITY_ROOT_HASH"], "salt": out["VERITY_SALT"]}
