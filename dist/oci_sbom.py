#!/usr/bin/env python3
"""Attaches each image's SBOM to a multi-architecture OCI archive, as registries and scanners
expect it: an OCI referrer.

    dist/oci_sbom.py ARCHIVE DIR

For every platform image of the archive's image index, DIR/readygate-TRIPLE.cdx.json becomes a
blob, and an artifact manifest (artifactType application/vnd.cyclonedx+json, the empty config, the
SBOM as its one layer) names that image as its `subject` (an OCI 1.1 referrer). The artifact
manifests go into the image index itself, beside the images, with the platform unknown/unknown
and Docker's attestation annotations, as BuildKit stores its SBOM attestations: `skopeo copy
--all` and registries carry them along, tools that choose an image by platform pass them by, and
scanners find them by subject or annotation. The archive is rewritten in place, with sorted members and fixed times, so it is the same
from one build to the next.
"""

import hashlib
import io
import json
import os
import sys
import tarfile

SBOM = "application/vnd.cyclonedx+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
INDEX = "application/vnd.oci.image.index.v1+json"
EMPTY = "application/vnd.oci.empty.v1+json"
TRIPLES = {
    ("amd64", None): "x86_64-unknown-linux-musl",
    ("arm64", None): "aarch64-unknown-linux-musl",
    ("arm64", "v8"): "aarch64-unknown-linux-musl",
    ("arm", "v7"): "armv7-unknown-linux-musleabihf",
}


def blob(data):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    return digest, f"blobs/sha256/{digest[7:]}", data


def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def main(archive, sbom_dir):
    with tarfile.open(archive) as tar:
        files = {m.name.lstrip("./"): tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}
    layout = json.loads(files["index.json"])
    layout["manifests"] = [m for m in layout["manifests"] if m.get("artifactType") != SBOM]
    stamp = int(os.environ.get("SOURCE_DATE_EPOCH", "0"))
    created = __import__("time").strftime("%Y-%m-%dT%H:%M:%SZ", __import__("time").gmtime(stamp))
    empty_digest, empty_path, empty = blob(b"{}")
    files[empty_path] = empty
    attached = 0
    for top in [m for m in layout["manifests"] if m["mediaType"] == INDEX]:
        index_path = f"blobs/sha256/{top['digest'][7:]}"
        index = json.loads(files.pop(index_path))
        # Referrers from an earlier run are replaced, not added again.
        index["manifests"] = [m for m in index["manifests"] if m.get("artifactType") != SBOM]
        for image in list(index["manifests"]):
            platform = image.get("platform", {})
            triple = TRIPLES.get((platform.get("architecture"), platform.get("variant")))
            if triple is None:
                continue
            name = f"readygate-{triple}.cdx.json"
            with open(os.path.join(sbom_dir, name), "rb") as f:
                sbom_digest, sbom_path, sbom = blob(f.read())
            files[sbom_path] = sbom
            manifest = {
                "schemaVersion": 2,
                "mediaType": MANIFEST,
                "artifactType": SBOM,
                "config": {"mediaType": EMPTY, "digest": empty_digest, "size": len(empty), "data": "e30="},
                "layers": [{
                    "mediaType": SBOM,
                    "digest": sbom_digest,
                    "size": len(sbom),
                    "annotations": {"org.opencontainers.image.title": name},
                }],
                "subject": {"mediaType": image["mediaType"], "digest": image["digest"], "size": image["size"]},
                "annotations": {"org.opencontainers.image.created": created},
            }
            digest, path, data = blob(canonical(manifest))
            files[path] = data
            # In the image index beside the image it describes, as an attestation manifest is
            # stored there (platform unknown/unknown, so that tools choosing an image by platform
            # pass it by), and found by its subject as an OCI 1.1 referrer.
            index["manifests"].append({
                "mediaType": MANIFEST,
                "digest": digest,
                "size": len(data),
                "artifactType": SBOM,
                "platform": {"architecture": "unknown", "os": "unknown"},
                "annotations": {
                    "org.opencontainers.image.created": created,
                    "vnd.docker.reference.digest": image["digest"],
                    "vnd.docker.reference.type": "attestation-manifest",
                },
            })
            attached += 1
        digest, path, data = blob(canonical(index))
        files[path] = data
        top["digest"], top["size"] = digest, len(data)
    if attached == 0:
        raise SystemExit(f"{archive}: no platform image to attach an SBOM to")
    files["index.json"] = canonical(layout)
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(files):
            info = tarfile.TarInfo(name)
            info.size = len(files[name])
            info.mtime = stamp
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(files[name]))
    with open(archive, "wb") as f:
        f.write(out.getvalue())
    print(f"dist: {attached} SBOMs attached to {os.path.basename(archive)}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    main(sys.argv[1], sys.argv[2])
