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

/// Inputs up to this size are converted on one thread; larger ones on two.
const PARALLEL_BYTES: usize = 1 << 20;

/// Encodes `data` (two threads for large data: the halves split at a multiple of 3 bytes).
pub fn encode(data: &[u8]) -> String {
    if data.len() < PARALLEL_BYTES {
        return encode_serial(data);
    }
    let middle = data.len() / 2 / 3 * 3;
    let (first, second) = data.split_at(middle);
    let (mut a, b) = std::thread::scope(|scope| {
        let b = scope.spawn(|| encode_serial(second));
        (encode_serial(first), b.join().unwrap_or_default())
    });
    a.push_str(&b);
    a
}

fn encode_serial(data: &[u8]) -> String {
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

/// Decodes base64 `text` (two threads for large text: the halves split at a multiple of 4).
pub fn decode(text: &str) -> Result<Vec<u8>, NotBase64> {
    let bytes = text.as_bytes();
    if bytes.len() < PARALLEL_BYTES || !bytes.len().is_multiple_of(4) {
        return decode_serial(bytes);
    }
    let (first, second) = bytes.split_at(bytes.len() / 2 / 4 * 4);
    let (a, b) = std::thread::scope(|scope| {
        let b = scope.spawn(|| decode_serial(second));
        (decode_serial(first), b.join().unwrap_or(Err(NotBase64)))
    });
    let mut a = a?;
    let b = b?;
    a.try_reserve_exact(b.len()).map_err(|_| NotBase64)?;
    a.extend_from_slice(&b);
    Ok(a)
}

fn decode_serial(text: &[u8]) -> Result<Vec<u8>, NotBase64> {
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
    fn large_data_splits_across_threads_the_same() {
        let data: Vec<u8> = (0..3 * PARALLEL_BYTES + 7)
            .map(|i| (i * 31 % 251) as u8)
            .collect();
        let text = encode(&data);
        assert_eq!(text, encode_serial(&data));
        assert_eq!(decode(&text), Ok(data));
        let mut bad = text.into_bytes();
        let last = bad.len() - 10;
        bad[last] = b'*';
        assert_eq!(decode(std::str::from_utf8(&bad).unwrap()), Err(NotBase64));
    }

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
