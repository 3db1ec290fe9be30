//! Base64 (standard alphabet, `=` padding): how the binary performance travels inside the
//! host's JSON state (nice-plug persists fields as JSON strings; base64 needs no escaping, and
//! is denser than any JSON array of numbers).
//!
//! A 10-minute performance is a few hundred megabytes of text, so both directions are written
//! for speed: table lookups of 12 bits (encode) and pre-shifted 6-bit values (decode, with the
//! validity check folded into one OR per block), into one buffer allocated once and filled by
//! two threads, each writing its own half (and taking its half's first-touch page faults).

use std::mem::MaybeUninit;

use super::parallel::parallel_map_mut;

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// The two characters of every 12-bit value.
const ENCODE_12: [[u8; 2]; 4096] = {
    let mut table = [[0u8; 2]; 4096];
    let mut i = 0;
    while i < 4096 {
        table[i] = [ALPHABET[i >> 6], ALPHABET[i & 63]];
        i += 1;
    }
    table
};

/// Set in a decode table entry of a byte outside the alphabet (above the 24 value bits).
const INVALID: u32 = 1 << 31;

/// The 6-bit value of each byte shifted to its place in a group of four characters (`shift` 18,
/// 12, 6 or 0), or [`INVALID`].
const fn decode_table(shift: u32) -> [u32; 256] {
    let mut table = [INVALID; 256];
    let mut i = 0;
    while i < 64 {
        table[ALPHABET[i] as usize] = (i as u32) << shift;
        i += 1;
    }
    table
}

const DECODE: [[u32; 256]; 4] = [
    decode_table(18),
    decode_table(12),
    decode_table(6),
    decode_table(0),
];

/// Inputs up to this size are converted on one thread; larger ones on two.
const PARALLEL_BYTES: usize = 1 << 20;

/// Groups (3 bytes, 4 characters) checked for invalid characters at once while decoding.
const CHECK_GROUPS: usize = 256;

/// Encodes `data` (two threads for large data).
pub fn encode(data: &[u8]) -> String {
    let whole = data.len() / 3;
    let mut out: Vec<u8> = Vec::with_capacity(data.len().div_ceil(3) * 4);
    let (body, tail) = out.spare_capacity_mut().split_at_mut(whole * 4);
    let (first_in, second_in) = data[..whole * 3].split_at(whole / 2 * 3);
    let (first_out, second_out) = body.split_at_mut(whole / 2 * 4);
    on_halves(
        data.len() >= PARALLEL_BYTES,
        [(first_in, first_out), (second_in, second_out)],
        |(data, out)| encode_groups(data, out),
    );
    let rest = &data[whole * 3..];
    if !rest.is_empty() {
        let n = u32::from(rest[0]) << 16 | rest.get(1).map_or(0, |&b| u32::from(b) << 8);
        let third = if rest.len() == 2 {
            ALPHABET[(n >> 6) as usize & 63]
        } else {
            b'='
        };
        let chars = [
            ALPHABET[(n >> 18) as usize & 63],
            ALPHABET[(n >> 12) as usize & 63],
            third,
            b'=',
        ];
        for (slot, c) in tail.iter_mut().zip(chars) {
            slot.write(c);
        }
    }
    // SAFETY: `encode_groups` wrote every byte of `body` (4 per whole group of 3 input bytes)
    // and the tail loop the 4 bytes after it if a partial group remains, which together are
    // exactly the `div_ceil(3) * 4` bytes reserved.
    unsafe { out.set_len(data.len().div_ceil(3) * 4) };
    // Only alphabet bytes were written: always valid UTF-8.
    String::from_utf8(out).unwrap_or_default()
}

/// Runs `f` on both halves of the work, on two threads if it is `large`.
fn on_halves<T: Send, R: Send>(
    large: bool,
    mut halves: [T; 2],
    f: impl Fn(&mut T) -> R + Sync,
) -> Vec<R> {
    if large {
        parallel_map_mut(&mut halves, f)
    } else {
        halves.iter_mut().map(f).collect()
    }
}

/// Encodes whole groups of 3 bytes into 4 characters each (`out` is 4/3 of `data`).
fn encode_groups(data: &[u8], out: &mut [MaybeUninit<u8>]) {
    for (group, chars) in data.chunks_exact(3).zip(out.chunks_exact_mut(4)) {
        let n = usize::from(group[0]) << 16 | usize::from(group[1]) << 8 | usize::from(group[2]);
        let [a, b] = ENCODE_12[n >> 12];
        let [c, d] = ENCODE_12[n & 0xFFF];
        chars[0].write(a);
        chars[1].write(b);
        chars[2].write(c);
        chars[3].write(d);
    }
}

/// Why text is not base64.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NotBase64;

/// Decodes base64 `text` (two threads for large text).
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
    // The last group, if padded, is decoded on its own.
    let groups = text.len() / 4 - usize::from(padding > 0);
    let len = groups * 3 + if padding > 0 { 3 - padding } else { 0 };
    let mut out: Vec<u8> = Vec::new();
    out.try_reserve_exact(len).map_err(|_| NotBase64)?;
    let (body, tail) = out.spare_capacity_mut()[..len].split_at_mut(groups * 3);
    let (first_in, second_in) = text[..groups * 4].split_at(groups / 2 * 4);
    let (first_out, second_out) = body.split_at_mut(groups / 2 * 3);
    on_halves(
        text.len() >= PARALLEL_BYTES,
        [(first_in, first_out), (second_in, second_out)],
        |(text, out)| decode_groups(text, out),
    )
    .into_iter()
    .collect::<Result<(), _>>()?;
    if padding > 0 {
        let last = &text[text.len() - 4..];
        let mut n = 0u32;
        for (c, table) in last[..4 - padding].iter().zip(&DECODE) {
            n |= table[usize::from(*c)];
        }
        if n & INVALID != 0 {
            return Err(NotBase64);
        }
        for (slot, byte) in tail.iter_mut().zip(n.to_be_bytes()[1..].iter()) {
            slot.write(*byte);
        }
    }
    // SAFETY: `decode_groups` succeeded, so it wrote every byte of `body` (3 per group of 4
    // characters), and the padded group wrote the `3 - padding` bytes of `tail`: together the
    // first `len` bytes, all within the capacity reserved.
    unsafe { out.set_len(len) };
    Ok(out)
}

/// Decodes whole groups of 4 characters (no padding) into 3 bytes each (`out` is 3/4 of
/// `text`); on an invalid character, an error (and `out` partly written).
fn decode_groups(text: &[u8], out: &mut [MaybeUninit<u8>]) -> Result<(), NotBase64> {
    for (block, block_out) in text
        .chunks(4 * CHECK_GROUPS)
        .zip(out.chunks_mut(3 * CHECK_GROUPS))
    {
        let mut invalid = 0u32;
        for (chars, bytes) in block.chunks_exact(4).zip(block_out.chunks_exact_mut(3)) {
            let n = DECODE[0][usize::from(chars[0])]
                | DECODE[1][usize::from(chars[1])]
                | DECODE[2][usize::from(chars[2])]
                | DECODE[3][usize::from(chars[3])];
            invalid |= n;
            bytes[0].write((n >> 16) as u8);
            bytes[1].write((n >> 8) as u8);
            bytes[2].write(n as u8);
        }
        if invalid & INVALID != 0 {
            return Err(NotBase64);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Base64 the slow, obvious way: six bits at a time.
    fn reference(data: &[u8]) -> String {
        let bits: Vec<bool> = data
            .iter()
            .flat_map(|byte| (0..8).rev().map(move |i| byte >> i & 1 == 1))
            .collect();
        let mut text: String = bits
            .chunks(6)
            .map(|six| {
                let v = (0..6).fold(0, |v, i| v << 1 | usize::from(six.get(i) == Some(&true)));
                char::from(ALPHABET[v])
            })
            .collect();
        while !text.len().is_multiple_of(4) {
            text.push('=');
        }
        text
    }

    #[test]
    fn large_data_splits_across_threads_the_same() {
        for extra in [0, 1, 2] {
            let data: Vec<u8> = (0..3 * PARALLEL_BYTES + extra)
                .map(|i| (i * 31 % 251) as u8)
                .collect();
            let text = encode(&data);
            assert_eq!(text, reference(&data));
            assert_eq!(decode(&text), Ok(data));
            // A bad character in either half, and in the last check block, is found.
            for at in [10, text.len() / 2 + 5, text.len() - 6] {
                let mut bad = text.clone().into_bytes();
                bad[at] = b'*';
                assert_eq!(decode(std::str::from_utf8(&bad).unwrap()), Err(NotBase64));
            }
        }
    }

    #[test]
    fn round_trips_every_length_and_refuses_junk() {
        let data: Vec<u8> = (0..3000u32).map(|i| (i * 73 % 256) as u8).collect();
        for len in 0..data.len() {
            let text = encode(&data[..len]);
            assert_eq!(text, reference(&data[..len]));
            assert_eq!(decode(&text), Ok(data[..len].to_vec()));
        }
        assert_eq!(encode(b"Ma"), "TWE=");
        assert_eq!(decode("TWE"), Err(NotBase64));
        assert_eq!(decode("TW\"="), Err(NotBase64));
        assert_eq!(decode("TWE*"), Err(NotBase64));
        assert_eq!(decode("===="), Err(NotBase64));
        assert_eq!(decode("TWE=TWE="), Err(NotBase64));
    }
}
