//! Base64 (standard alphabet, `=` padding): how the binary performance travels inside the
//! host's JSON state (nice-plug persists fields as JSON strings; base64 needs no escaping, and
//! is denser than any JSON array of numbers).

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
/// Marks a byte that is not in the alphabet.
const INVALID: u8 = 0xFF;

const fn decode_table() -> [u8; 256] {
    let mut table = [INVALID; 256];
    let mut i = 0;
    while i < 64 {
        table[ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    table
}

const DECODE: [u8; 256] = decode_table();

/// Encodes `data`.
pub fn encode(data: &[u8]) -> String {
    let mut out = Vec::with_capacity(data.len().div_ceil(3) * 4);
    let mut chunks = data.chunks_exact(3);
    for chunk in &mut chunks {
        let n = u32::from(chunk[0]) << 16 | u32::from(chunk[1]) << 8 | u32::from(chunk[2]);
        out.extend_from_slice(&[
            ALPHABET[(n >> 18) as usize & 63],
            ALPHABET[(n >> 12) as usize & 63],
            ALPHABET[(n >> 6) as usize & 63],
            ALPHABET[n as usize & 63],
        ]);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let n = u32::from(rest[0]) << 16 | rest.get(1).map_or(0, |&b| u32::from(b) << 8);
        out.push(ALPHABET[(n >> 18) as usize & 63]);
        out.push(ALPHABET[(n >> 12) as usize & 63]);
        out.push(if rest.len() == 2 {
            ALPHABET[(n >> 6) as usize & 63]
        } else {
            b'='
        });
        out.push(b'=');
    }
    // Only alphabet bytes were written: always valid UTF-8.
    String::from_utf8(out).unwrap_or_default()
}

/// Why text is not base64.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotBase64;

/// Decodes base64 `text`.
pub fn decode(text: &str) -> Result<Vec<u8>, NotBase64> {
    let text = text.as_bytes();
    if !text.len().is_multiple_of(4) {
        return Err(NotBase64);
    }
    let padding = text
        .iter()
        .rev()
        .take(2)
        .take_while(|&&b| b == b'=')
        .count();
    let mut out = Vec::new();
    out.try_reserve_exact(text.len() / 4 * 3)
        .map_err(|_| NotBase64)?;
    let body = &text[..text.len() - if padding > 0 { 4 } else { 0 }];
    for quad in body.chunks_exact(4) {
        let mut n = 0u32;
        for &c in quad {
            let v = DECODE[c as usize];
            if v == INVALID {
                return Err(NotBase64);
            }
            n = n << 6 | u32::from(v);
        }
        out.extend_from_slice(&[(n >> 16) as u8, (n >> 8) as u8, n as u8]);
    }
    if padding > 0 {
        let quad = &text[text.len() - 4..];
        let mut n = 0u32;
        for &c in &quad[..4 - padding] {
            let v = DECODE[c as usize];
            if v == INVALID {
                return Err(NotBase64);
            }
            n = n << 6 | u32::from(v);
        }
        n <<= 6 * padding as u32;
        out.push((n >> 16) as u8);
        if padding == 1 {
            out.push((n >> 8) as u8);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_length_and_refuses_junk() {
        let data: Vec<u8> = (0..300u32).map(|i| (i * 73 % 256) as u8).collect();
        for len in 0..data.len() {
            assert_eq!(decode(&encode(&data[..len])), Ok(data[..len].to_vec()));
        }
        assert_eq!(encode(b"Ma"), "TWE=");
        assert_eq!(decode("TWE"), Err(NotBase64));
        assert_eq!(decode("TW\"="), Err(NotBase64));
        assert_eq!(decode("===="), Err(NotBase64));
    }
}
