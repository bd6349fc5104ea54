#!/usr/bin/env python3
"""The software bill of materials of one readygate binary, from the binary itself.

    dist/sbom.py BINARY [--metadata METADATA.json] > BINARY.cdx.json   CycloneDX 1.5 JSON
    dist/sbom.py --deps BINARY                                          the embedded crate list

Every release binary carries its dependency list (cargo-auditable's `.dep-v0` section: zlib-
compressed JSON), so the SBOM lists exactly the crates compiled into that binary for its
architecture, not every crate of the lock file. Each crate gets its version, its checksum from
Cargo.lock and its licence from `cargo metadata` (given as a file, or run here). Nothing in the
output depends on the time or the machine: the serial number is derived from the binary's hash and
the timestamp is SOURCE_DATE_EPOCH (the commit's time), so two builds of one commit give the same
file.
"""

import hashlib
import json
import os
import struct
import subprocess
import sys
import uuid
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def section(path, name):
    """The bytes of the ELF section `name` (32- or 64-bit, either byte order), or None."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF":
        raise SystemExit(f"{path}: not an ELF file")
    bits64 = data[4] == 2
    end = "<" if data[5] == 1 else ">"
    if bits64:
        shoff, = struct.unpack_from(end + "Q", data, 0x28)
        shentsize, shnum, shstrndx = struct.unpack_from(end + "HHH", data, 0x3A)
    else:
        shoff, = struct.unpack_from(end + "I", data, 0x20)
        shentsize, shnum, shstrndx = struct.unpack_from(end + "HHH", data, 0x2E)

    def header(i):
        base = shoff + i * shentsize
        if bits64:
            nm, _, _, _, off, size = struct.unpack_from(end + "IIQQQQ", data, base)
        else:
            nm, _, _, _, off, size = struct.unpack_from(end + "IIIIII", data, base)
        return nm, off, size

    _, str_off, _ = header(shstrndx)
    for i in range(shnum):
        nm, off, size = header(i)
        start = str_off + nm
        if data[start:data.index(b"\0", start)].decode() == name:
            return data[off:off + size]
    return None


def embedded(path):
    """The crate list cargo-auditable embedded in the binary."""
    raw = section(path, ".dep-v0")
    if raw is None:
        raise SystemExit(f"{path}: no .dep-v0 section (not built with cargo auditable)")
    return json.loads(zlib.decompress(raw))


def lock_checksums():
    with open(os.path.join(ROOT, "Cargo.lock")) as f:
        text = f.read()
    sums = {}
    for block in text.split("[[package]]")[1:]:
        fields = {}
        for line in block.strip().splitlines():
            if " = " in line:
                k, v = line.split(" = ", 1)
                fields[k.strip()] = v.strip().strip('"')
        if "checksum" in fields:
            sums[(fields["name"], fields["version"])] = fields["checksum"]
    return sums


def licences(metadata_file):
    if metadata_file:
        with open(metadata_file) as f:
            meta = json.load(f)
    else:
        out = subprocess.run(
            ["cargo", "metadata", "--locked", "--format-version", "1"],
            cwd=ROOT, check=True, capture_output=True, text=True).stdout
        meta = json.loads(out)
    return {(p["name"], p["version"]): p.get("license") for p in meta["packages"]}


def sbom(binary, metadata_file=None):
    deps = embedded(binary)
    sums = lock_checksums()
    lic = licences(metadata_file)
    with open(binary, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    packages = deps["packages"]
    ref = lambda p: f"pkg:cargo/{p['name']}@{p['version']}"
    root = next(p for p in packages if p.get("root"))
    components = []
    for p in packages:
        if p is root:
            continue
        c = {
            "type": "library",
            "bom-ref": ref(p),
            "name": p["name"],
            "version": p["version"],
            "purl": ref(p),
            "scope": "required",
        }
        if p.get("kind") == "build":
            c["scope"] = "excluded"  # a build dependency: ran at build time, not in the binary
        checksum = sums.get((p["name"], p["version"]))
        if checksum:
            c["hashes"] = [{"alg": "SHA-256", "content": checksum}]
        licence = lic.get((p["name"], p["version"]))
        if licence:
            c["licenses"] = [{"expression": licence}]
        components.append(c)
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", "0"))
    stamp = __import__("time").strftime("%Y-%m-%dT%H:%M:%SZ", __import__("time").gmtime(epoch))
    return {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": "urn:uuid:" + str(uuid.UUID(digest[:32])),
        "version": 1,
        "metadata": {
            "timestamp": stamp,
            "tools": {"components": [{"type": "application", "name": "dist/sbom.py"}]},
            "component": {
                "type": "application",
                "bom-ref": ref(root),
                "name": os.path.basename(binary),
                "version": root["version"],
                "purl": ref(root),
                "hashes": [{"alg": "SHA-256", "content": digest}],
                "licenses": [{"expression": lic.get((root["name"], root["version"])) or "NOASSERTION"}],
            },
        },
        "components": components,
        "dependencies": [
            {"ref": ref(p), "dependsOn": sorted({ref(packages[d]) for d in p.get("dependencies", [])})}
            for p in packages
        ],
    }


def main(argv):
    if len(argv) >= 2 and argv[0] == "--deps":
        for p in embedded(argv[1])["packages"]:
            print(f"{p['name']} {p['version']}{' (build)' if p.get('kind') == 'build' else ''}")
        return
    if not argv:
        raise SystemExit(__doc__)
    metadata = None
    if "--metadata" in argv:
        metadata = argv[argv.index("--metadata") + 1]
    json.dump(sbom(argv[0], metadata), sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1:])
