"""pyHanko's in-process PAdES validation speed, for `cargo run --release --bin bench -- verify`.

Loads the trust root and the CRLs ONCE, reads the signed PDF ONCE, then validates the same
bytes over and over: each validation opens a new PdfFileReader over them, makes a new
ValidationContext (trust root, no fetching, revocation REQUIRED and answered from the CRLs,
like `hoso verify --offline --crl … --policy strict`) and validates every signature and
document timestamp of the file (integrity, signature value, chain to the root, revocation,
modification analysis after the signature). One untimed warm-up validation, then timed ones
until at least ITERATIONS of them and at least SECONDS have passed. Every validation must
judge every signature VALID (bottom line: intact, valid, trusted, no disallowed changes);
otherwise the script prints why on stderr and exits 1 (a benchmark of a failing validation
is worthless).

usage: python pyhanko_verify_bench.py --input SIGNED.pdf --root ROOT.pem [--crl CRL]…
                                      [--iterations N] [--seconds S]
Prints one JSON object on stdout:
  {"pyhanko": version, "iterations": n, "seconds": timed seconds, "docs_per_s": n / seconds,
   "cpu_seconds": CPU seconds (time.process_time) of the timed validations,
   "cpu_docs_per_s": n / cpu_seconds, "signatures": signatures per document,
   "summary": pyHanko's summary of the last validation, "max_rss_kib": peak RSS of this
   process}
"""

import argparse
import json
import resource
import sys
import time
import warnings
from importlib.metadata import version
from io import BytesIO

# pyHanko imports cryptography's DSA module, which warns on stderr on every start.
warnings.simplefilter('ignore')

from asn1crypto import crl as asn1_crl  # noqa: E402
from asn1crypto import pem  # noqa: E402
from pyhanko.keys import load_cert_from_pemder  # noqa: E402
from pyhanko.pdf_utils.reader import PdfFileReader  # noqa: E402
from pyhanko.sign.validation import (  # noqa: E402
    validate_pdf_signature,
    validate_pdf_timestamp,
)
from pyhanko_certvalidator import ValidationContext  # noqa: E402


def load_crl(path: str) -> asn1_crl.CertificateList:
    with open(path, 'rb') as f:
        data = f.read()
    if pem.detect(data):
        _, _, data = pem.unarmor(data)
    return asn1_crl.CertificateList.load(data)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--input', required=True)
    parser.add_argument('--root', required=True)
    parser.add_argument('--crl', action='append', default=[])
    parser.add_argument('--iterations', type=int, default=3)
    parser.add_argument('--seconds', type=float, default=1.0)
    args = parser.parse_args()

    root = load_cert_from_pemder(args.root)
    crls = [load_crl(path) for path in args.crl]
    with open(args.input, 'rb') as f:
        data = f.read()

    def validate_once() -> tuple[int, str]:
        """Validates every signature of the document; (signatures, summary) or exit 1."""
        context = ValidationContext(
            trust_roots=[root],
            allow_fetching=False,
            crls=crls,
            revocation_mode='hard-fail',
        )
        reader = PdfFileReader(BytesIO(data))
        signatures = reader.embedded_signatures
        if not signatures:
            print(f'{args.input}: no signature', file=sys.stderr)
            sys.exit(1)
        summaries = []
        for signature in signatures:
            if signature.sig_object_type == '/DocTimeStamp':
                status = validate_pdf_timestamp(signature, validation_context=context)
                ok = status.intact and status.valid and status.trusted
            else:
                status = validate_pdf_signature(
                    signature,
                    signer_validation_context=context,
                    ts_validation_context=context,
                )
                ok = status.bottom_line
            if not ok:
                print(
                    f'{args.input}: {signature.field_name} is not VALID for pyHanko:\n'
                    f'{status.pretty_print_details()}',
                    file=sys.stderr,
                )
                sys.exit(1)
            summaries.append(f'{signature.field_name}: {status.summary()}')
        return len(signatures), '; '.join(summaries)

    count, summary = validate_once()

    iterations = 0
    timed = 0.0
    cpu_timed = 0.0
    loop_started = time.perf_counter()
    while iterations < args.iterations or time.perf_counter() - loop_started < args.seconds:
        cpu_one = time.process_time()
        one = time.perf_counter()
        count, summary = validate_once()
        timed += time.perf_counter() - one
        cpu_timed += time.process_time() - cpu_one
        iterations += 1

    print(
        json.dumps(
            {
                'pyhanko': version('pyHanko'),
                'iterations': iterations,
                'seconds': timed,
                'docs_per_s': iterations / timed,
                'cpu_seconds': cpu_timed,
                'cpu_docs_per_s': iterations / cpu_timed if cpu_timed > 0 else None,
                'signatures': count,
                'summary': summary,
                'max_rss_kib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            }
        )
    )
    return 0


if __name__ == '__main__':
    sys.exit(main())
