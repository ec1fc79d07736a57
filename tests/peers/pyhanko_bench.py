"""pyHanko's in-process PAdES B-B signing speed, for `cargo run --release --bin bench -- sign`.

Loads the PKCS#12 key ONCE, reads the input ONCE, then signs the same bytes over and over in
memory (an incremental update written to a BytesIO, nothing on disk): one untimed warm-up
signature, then timed signatures until at least ITERATIONS of them and at least SECONDS have
passed. Invisible signature field `Signature1`, /SubFilter /ETSI.CAdES.detached, SHA-256, no
timestamp, no validation, no network: what `hoso` does with `SignOptions { offline: true, .. }`.

usage: python pyhanko_bench.py --input IN.pdf --p12 KEY.p12 --password PW
                               [--iterations N] [--seconds S] [--keep OUT.pdf]
Prints one JSON object on stdout:
  {"pyhanko": version, "iterations": n, "seconds": timed seconds, "sig_per_s": n / seconds,
   "cpu_seconds": CPU seconds (time.process_time) of the timed signatures,
   "cpu_sig_per_s": n / cpu_seconds, "output_bytes": size of a signed output,
   "load_key_s": seconds to load the key, "max_rss_kib": peak RSS of this process}
--keep writes the warm-up signature's output to OUT.pdf (to check it with a validator).

Note (../shared/docs/signatures.md §4.6): pyHanko's SimpleSigner re-loads the RSA private key
on every raw signature (OpenSSL 3 checks the key each time, ~68 ms for RSA-2048) and signs twice
per document (once to estimate the container size). That cost is part of what is measured here:
it is what pyHanko's in-process API does with a PKCS#12 key.
"""

import argparse
import json
import resource
import sys
import time
from importlib.metadata import version
from io import BytesIO

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--input', required=True)
    parser.add_argument('--p12', required=True)
    parser.add_argument('--password', required=True)
    parser.add_argument('--iterations', type=int, default=3)
    parser.add_argument('--seconds', type=float, default=1.0)
    parser.add_argument('--keep')
    args = parser.parse_args()

    started = time.perf_counter()
    signer = signers.SimpleSigner.load_pkcs12(
        args.p12, passphrase=args.password.encode()
    )
    load_key_s = time.perf_counter() - started
    if signer is None:
        print(f'cannot load {args.p12}', file=sys.stderr)
        return 1
    with open(args.input, 'rb') as f:
        data = f.read()
    meta = signers.PdfSignatureMetadata(
        field_name='Signature1',
        md_algorithm='sha256',
        subfilter=fields.SigSeedSubFilter.PADES,
    )

    def sign_once() -> BytesIO:
        writer = IncrementalPdfFileWriter(BytesIO(data))
        output = BytesIO()
        signers.sign_pdf(writer, meta, signer=signer, output=output)
        return output

    warm_up = sign_once()
    output_bytes = len(warm_up.getvalue())
    if args.keep:
        with open(args.keep, 'wb') as f:
            f.write(warm_up.getvalue())
    del warm_up

    iterations = 0
    timed = 0.0
    cpu_timed = 0.0
    loop_started = time.perf_counter()
    while iterations < args.iterations or time.perf_counter() - loop_started < args.seconds:
        cpu_one = time.process_time()
        one = time.perf_counter()
        sign_once()
        timed += time.perf_counter() - one
        cpu_timed += time.process_time() - cpu_one
        iterations += 1

    print(
        json.dumps(
            {
                'pyhanko': version('pyHanko'),
                'iterations': iterations,
                'seconds': timed,
                'sig_per_s': iterations / timed,
                'cpu_seconds': cpu_timed,
                'cpu_sig_per_s': iterations / cpu_timed,
                'output_bytes': output_bytes,
                'load_key_s': load_key_s,
                'max_rss_kib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            }
        )
    )
    return 0


if __name__ == '__main__':
    sys.exit(main())
