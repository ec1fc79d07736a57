"""pyHanko's in-process validation speed over a corpus, for `cargo run --release --bin bench -- verify`.

Loads the trust roots, the extra certificates and the CRLs ONCE, reads every listed PDF into
memory ONCE, then validates the whole list pass after pass: for each file a new PdfFileReader
over its bytes, a new ValidationContext (the trust roots, the extra certificates as
`other_certs`, the CRLs, no fetching, revocation `hard-fail`, `moment` = the file's fixed
validation time) and every embedded signature validated (`validate_pdf_signature`, or
`validate_pdf_timestamp` for a document timestamp). Every exception is caught per file (while
reading) or per signature (while validating), so a broken file counts as done like any other:
a verifier must get through it. One untimed warm-up pass, then timed passes until at least
PASSES of them and at least SECONDS have passed.

Unlike pyhanko_verify_bench.py, verdicts are not required to be VALID: the corpus holds
expired, untrusted, tampered and malformed files on purpose. They are counted.

usage: python pyhanko_verify_corpus.py --files-from LIST --trust DIR… [--cert FILE]…
                                       [--crl FILE]… [--passes N] [--seconds S]
LIST: one file per line, `MOMENT<TAB>PATH`, MOMENT an ISO 8601 time with offset (`Z` allowed).
--trust DIR: every *.pem, *.crt, *.cer, *.der file in DIR (not recursive) is a trust root (all
the certificates of a file; duplicates dropped), as hoso's trust store loads a folder.

Prints one JSON object on stdout:
  {"pyhanko": version, "passes": n, "seconds": timed seconds (sum over files),
   "cpu_seconds": CPU seconds (time.process_time) of the timed passes, "trust_roots": n,
   "max_rss_kib": peak RSS of this process,
   "files": [{"path", "outcome": "read-error" | "no-signature" | "validated",
              "signatures", "valid", "not_valid", "errors", "seconds" (all timed passes),
              "error": the first exception, if any}, …]}
"""

import argparse
import hashlib
import json
import logging
import resource
import sys
import time
import warnings
from datetime import datetime
from importlib.metadata import version
from io import BytesIO
from pathlib import Path

# pyHanko imports cryptography's DSA module, which warns on stderr on every start; the
# corpus's odd files make pyHanko warn too. Neither is wanted in a timed loop.
warnings.simplefilter('ignore')

from asn1crypto import crl as asn1_crl  # noqa: E402
from asn1crypto import pem  # noqa: E402
from pyhanko.keys import load_certs_from_pemder  # noqa: E402
from pyhanko.pdf_utils.reader import PdfFileReader  # noqa: E402
from pyhanko.sign.validation import (  # noqa: E402
    validate_pdf_signature,
    validate_pdf_timestamp,
)
from pyhanko_certvalidator import ValidationContext  # noqa: E402

CERT_EXTENSIONS = {'.pem', '.crt', '.cer', '.der'}


def load_crl(path: str) -> asn1_crl.CertificateList:
    with open(path, 'rb') as f:
        data = f.read()
    if pem.detect(data):
        _, _, data = pem.unarmor(data)
    return asn1_crl.CertificateList.load(data)


def load_trust(dirs: list[str]) -> list:
    roots = []
    seen = set()
    for folder in dirs:
        for path in sorted(Path(folder).iterdir()):
            if path.suffix.lower() not in CERT_EXTENSIONS or not path.is_file():
                continue
            for cert in load_certs_from_pemder([str(path)]):
                fingerprint = hashlib.sha256(cert.dump()).digest()
                if fingerprint not in seen:
                    seen.add(fingerprint)
                    roots.append(cert)
    return roots


def first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return f'{type(error).__name__}: {text[0] if text else ""}'[:300]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--files-from', required=True)
    parser.add_argument('--trust', action='append', default=[])
    parser.add_argument('--cert', action='append', default=[])
    parser.add_argument('--crl', action='append', default=[])
    parser.add_argument('--passes', type=int, default=3)
    parser.add_argument('--seconds', type=float, default=1.0)
    parser.add_argument(
        '--lenient',
        action='store_true',
        help='PdfFileReader(strict=False), as `pyhanko sign validate --no-strict-syntax`',
    )
    args = parser.parse_args()
    # pyHanko logs every problem it meets (and the corpus is full of them) at WARNING and up.
    logging.disable(logging.CRITICAL)

    roots = load_trust(args.trust)
    others = [cert for path in args.cert for cert in load_certs_from_pemder([path])]
    crls = [load_crl(path) for path in args.crl]
    files = []
    with open(args.files_from, encoding='utf-8') as listing:
        for line in listing:
            line = line.rstrip('\n')
            if not line:
                continue
            moment, path = line.split('\t', 1)
            moment = datetime.fromisoformat(moment.replace('Z', '+00:00'))
            with open(path, 'rb') as f:
                files.append((path, moment, f.read()))

    def validate(moment: datetime, data: bytes) -> dict:
        """One file: its outcome, signature counts and first error. Never raises."""
        result = {
            'outcome': 'validated',
            'signatures': 0,
            'valid': 0,
            'not_valid': 0,
            'errors': 0,
            'error': None,
        }
        try:
            reader = PdfFileReader(BytesIO(data), strict=not args.lenient)
            signatures = reader.embedded_signatures
        except Exception as error:  # noqa: BLE001 (a broken file is an outcome)
            result['outcome'] = 'read-error'
            result['error'] = first_line(error)
            return result
        if not signatures:
            result['outcome'] = 'no-signature'
            return result
        result['signatures'] = len(signatures)
        context = ValidationContext(
            trust_roots=roots,
            other_certs=others,
            crls=crls,
            allow_fetching=False,
            revocation_mode='hard-fail',
            moment=moment,
        )
        for signature in signatures:
            try:
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
            except Exception as error:  # noqa: BLE001
                result['errors'] += 1
                result['error'] = result['error'] or first_line(error)
                continue
            result['valid' if ok else 'not_valid'] += 1
        return result

    results = [validate(moment, data) for _, moment, data in files]
    seconds = [0.0] * len(files)

    passes = 0
    cpu_started = time.process_time()
    loop_started = time.perf_counter()
    while passes < args.passes or time.perf_counter() - loop_started < args.seconds:
        for index, (_, moment, data) in enumerate(files):
            one = time.perf_counter()
            validate(moment, data)
            seconds[index] += time.perf_counter() - one
        passes += 1
    cpu_seconds = time.process_time() - cpu_started

    print(
        json.dumps(
            {
                'pyhanko': version('pyHanko'),
                'passes': passes,
                'seconds': sum(seconds),
                'cpu_seconds': cpu_seconds,
                'trust_roots': len(roots),
                'max_rss_kib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                'files': [
                    dict(path=path, seconds=spent, **result)
                    for (path, _, _), spent, result in zip(files, seconds, results)
                ],
            }
        )
    )
    return 0


if __name__ == '__main__':
    sys.exit(main())
