"""pyHanko's side of the signing benchmark (`cargo bench -p diwan-tests --bench signing`).

Run by the Rust benchmark, once, with the files it wrote: the PDF to sign, the signer's
PKCS#8 key and certificate, the issuing CA (chain), the root (trust anchor) and a document
carrying five signatures made by Diwan. In this one process (interpreter start-up and imports
are not timed) it signs the PDF `--iterations` times after `--warmup` untimed runs (PAdES B-B,
no time-stamp, output in memory), then validates every signature of the five-signature
document the same number of times, and prints one JSON object on stdout:

    {"pyhanko": "0.38.0", "sign": {...}, "sign_visible": {...}, "validate": {...},
     "valid": [true, ...], "sample": "path"}

where each timing is {"median_ms", "p95_ms", "min_ms", "max_ms", "n"}.
"""

import argparse
import io
import json
import sys
import time
from importlib.metadata import version


def quantile_ms(samples, p):
    """The `p` quantile (0 to 1) of the samples in seconds, in ms (nearest rank, as the Rust side)."""
    s = sorted(samples)
    i = int((len(s) - 1) * p + 0.5)
    return s[i] * 1000.0


def summary(samples):
    return {
        "median_ms": quantile_ms(samples, 0.5),
        "p95_ms": quantile_ms(samples, 0.95),
        "min_ms": min(samples) * 1000.0,
        "max_ms": max(samples) * 1000.0,
        "n": len(samples),
    }


def timed(fn, warmup, iterations):
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(iterations):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--pdf", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--chain", required=True)
    ap.add_argument("--root", required=True)
    ap.add_argument("--signed5", required=True)
    ap.add_argument("--sample-out", required=True)
    ap.add_argument("--iterations", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--reserved", type=int, default=16384)
    args = ap.parse_args()

    from pyhanko.keys import load_cert_from_pemder
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign import fields, signers
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    with open(args.pdf, "rb") as f:
        pdf = f.read()
    with open(args.signed5, "rb") as f:
        signed5 = f.read()
    signer = signers.SimpleSigner.load(
        args.key, args.cert, ca_chain_files=(args.chain,)
    )
    if signer is None:
        sys.exit("pyHanko could not load the key or the certificates")
    root = load_cert_from_pemder(args.root)

    # PAdES baseline B-B: subfilter ETSI.CAdES.detached, SHA-256, no time-stamp, no
    # validation information embedded. The reservation is fixed (as Diwan's), so pyHanko does
    # not make a dummy signature first to estimate it.
    meta = signers.PdfSignatureMetadata(
        field_name="Signature1",
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason="Benchmark",
    )

    def sign_invisible():
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
        return signers.sign_pdf(
            writer, meta, signer=signer, bytes_reserved=args.reserved
        ).getvalue()

    # The same with a visible block (pyHanko's default text stamp) on the last page.
    visible_field = fields.SigFieldSpec(
        "Signature1", on_page=-1, box=(320, 40, 560, 120)
    )

    def sign_visible():
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
        return signers.sign_pdf(
            writer,
            meta,
            signer=signer,
            new_field_spec=visible_field,
            bytes_reserved=args.reserved,
        ).getvalue()

    sample = sign_invisible()
    with open(args.sample_out, "wb") as f:
        f.write(sample)
    sign = timed(sign_invisible, args.warmup, args.iterations)
    sign_vis = timed(sign_visible, args.warmup, args.iterations)

    valid = []

    def validate_all():
        # One reader and one validation context per document, as a validation service would:
        # the root trusted, no fetching, revocation in soft-fail mode (the certificates name no
        # CRL or OCSP responder, so none is looked for).
        reader = PdfFileReader(io.BytesIO(signed5))
        vc = ValidationContext(
            trust_roots=[root], allow_fetching=False, revocation_mode="soft-fail"
        )
        out = []
        for sig in reader.embedded_signatures:
            status = validate_pdf_signature(sig, vc)
            out.append(bool(status.bottom_line))
        valid[:] = out

    validate = timed(validate_all, args.warmup, args.iterations)

    print(
        json.dumps(
            {
                "pyhanko": version("pyHanko"),
                "sign": summary(sign),
                "sign_visible": summary(sign_vis),
                "validate": summary(validate),
                "valid": valid,
                "sample": args.sample_out,
            }
        )
    )


if __name__ == "__main__":
    main()
