//! A minimal DER walker that keeps the exact bytes of what it visits.
//!
//! Signatures are computed over the signed attributes *as the signer encoded them*; decoding
//! them into typed values and encoding again can reorder a SET OF or normalise a length and
//! break the check. This walker only finds where each element starts and ends.

/// One TLV: its tag byte, where it starts, where its value starts and where it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    pub tag: u8,
    /// The whole element, header included.
    pub raw: &'a [u8],
    /// The value (contents octets).
    pub value: &'a [u8],
}

/// Reads the element at the start of `bytes`; `None` when the header is malformed, uses the
/// indefinite length (BER, not DER), a multi-byte tag, or runs past the end.
pub fn read(bytes: &[u8]) -> Option<(Tlv<'_>, &[u8])> {
    let tag = *bytes.first()?;
    if tag & 0x1f == 0x1f {
        return None;
    }
    let first = *bytes.get(1)?;
    let (length, header) = if first < 0x80 {
        (first as usize, 2)
    } else {
        let count = (first & 0x7f) as usize;
        if count == 0 || count > 4 {
            return None;
        }
        let mut length = 0usize;
        for i in 0..count {
            length = (length << 8) | *bytes.get(2 + i)? as usize;
        }
        (length, 2 + count)
    };
    let end = header.checked_add(length)?;
    if end > bytes.len() {
        return None;
    }
    Some((
        Tlv {
            tag,
            raw: &bytes[..end],
            value: &bytes[header..end],
        },
        &bytes[end..],
    ))
}

/// The elements inside a constructed value, in order; `None` if any is malformed.
pub fn children(value: &[u8]) -> Option<Vec<Tlv<'_>>> {
    let mut out = Vec::new();
    let mut rest = value;
    while !rest.is_empty() {
        let (tlv, next) = read(rest)?;
        out.push(tlv);
        rest = next;
        if out.len() > 100_000 {
            return None;
        }
    }
    Some(out)
}

/// The length of the DER or BER element at the start of `bytes` (to strip `/Contents`
/// padding): BER's indefinite lengths, which older signers still write, are followed to
/// their end-of-contents marker.
pub fn element_len(bytes: &[u8]) -> Option<usize> {
    ber_len(bytes, 0)
}

fn ber_len(bytes: &[u8], depth: usize) -> Option<usize> {
    if depth > 64 {
        return None;
    }
    if let Some((tlv, _)) = read(bytes) {
        return Some(tlv.raw.len());
    }
    let tag = *bytes.first()?;
    // Only a constructed element may use the indefinite form (0x80).
    if tag & 0x20 == 0 || tag & 0x1f == 0x1f || *bytes.get(1)? != 0x80 {
        return None;
    }
    let mut at = 2;
    loop {
        if bytes.get(at..at + 2)? == [0, 0] {
            return Some(at + 2);
        }
        at += ber_len(&bytes[at..], depth + 1)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_short_and_long_lengths_and_refuses_truncation() {
        let (tlv, rest) = read(&[0x04, 0x02, 0xaa, 0xbb, 0x05, 0x00]).unwrap();
        assert_eq!((tlv.tag, tlv.value), (0x04, &[0xaa, 0xbb][..]));
        assert_eq!(rest, &[0x05, 0x00]);
        let mut long = vec![0x04, 0x81, 0x80];
        long.extend(std::iter::repeat_n(0u8, 0x80));
        assert_eq!(read(&long).unwrap().0.value.len(), 0x80);
        assert!(read(&[0x04, 0x05, 0x00]).is_none());
        assert!(
            read(&[0x30, 0x80, 0x00, 0x00]).is_none(),
            "indefinite length is BER"
        );
        assert!(read(&[0x30, 0x85, 1, 1, 1, 1, 1]).is_none());
        assert_eq!(
            children(&[0x02, 0x01, 0x01, 0x02, 0x01, 0x02])
                .unwrap()
                .len(),
            2
        );
        assert!(children(&[0x02, 0x05, 0x01]).is_none());
        // BER: SEQUENCE (indefinite) { INTEGER 1 } end-of-contents, then padding.
        assert_eq!(
            element_len(&[0x30, 0x80, 0x02, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00]),
            Some(7)
        );
        assert_eq!(element_len(&[0x30, 0x80, 0x02, 0x01]), None);
    }
}
