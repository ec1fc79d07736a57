"""Validate every signature and document timestamp of a PDF with pyHanko, offline, from the
data embedded in the document (its DSS) alone, with revocation information REQUIRED.

This is what long-term validation (PAdES B-LT / B-LTA) promises: the document validates
years later without reaching any OCSP responder or CRL server. The pyHanko CLI cannot be told
"require revocation info but never fetch", so the test suite runs this script instead.

usage: python pyhanko_offline.py FILE.pdf TRUST_ROOT.pem
Prints one line per signature: <field> <kind> VALID|INVALID <summary>; exit 0 when all valid.
"""

import sys

from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import (
    DocumentSecurityStore,
    validate_pdf_signature,
    validate_pdf_timestamp,
)


def main() -> int:
    path, root_path = sys.argv[1], sys.argv[2]
    root = load_cert_from_pemder(root_path)
    all_valid = True
    with open(path, 'rb') as f:
        reader = PdfFileReader(f)
        try:
            dss = DocumentSecurityStore.read_dss(reader)
        except Exception as e:  # noqa: BLE001 - report, don't crash
            print(f'no DSS: {e}')
            return 1

        def context():
            return dss.as_validation_context(
                {
                    'trust_roots': [root],
                    'allow_fetching': False,
                    'revocation_mode': 'hard-fail',
                }
            )

        if not reader.embedded_signatures:
            print('no signatures')
            return 1
        for sig in reader.embedded_signatures:
            if sig.sig_object_type == '/DocTimeStamp':
                status = validate_pdf_timestamp(sig, validation_context=context())
                kind = 'doc-timestamp'
            else:
                status = validate_pdf_signature(
                    sig,
                    signer_validation_context=context(),
                    ts_validation_context=context(),
                )
                kind = 'signature'
            # Document timestamps have no bottom line: intact, valid and trusted is the verdict.
            ok = bool(
                getattr(status, 'bottom_line', None)
                if hasattr(status, 'bottom_line')
                else status.intact and status.valid and status.trusted
            )
            all_valid &= ok
            print(
                f'{sig.field_name} {kind} {"VALID" if ok else "INVALID"} '
                f'{status.summary()}'
            )
    return 0 if all_valid else 1


if __name__ == '__main__':
    sys.exit(main())
