//! The few instruction sequences compilers emit for the code that says what a Node.js addon is
//! built for: a function that returns a constant (`node_api_module_get_api_version_v1`, which
//! node_api.h's NAPI_MODULE_INIT defines as `return NAPI_VERSION;`), and a constructor that passes
//! the address of a static struct to a function (node.h's NODE_MODULE: `node_module_register(
//! &_module)`). Any other code gives `None`: what cannot be read is reported as not checked, never
//! guessed. Encodings: Intel SDM vol. 2 (MOV B8+rd, LEA 8D /r with RIP-relative ModRM 3D, ENDBR64
//! F3 0F 1E FA); Arm ARM A64 (MOVZ/MOVN, ADRP, ADD immediate, RET, BTI/PACIASP hints).

use crate::arch::machine;

/// The constant the function whose code starts with `code` returns, as a signed 32-bit value.
pub fn returned_constant(machine_id: u16, code: &[u8]) -> Option<i64> {
    match machine_id {
        machine::X86_64 => x86_64_constant(code),
        machine::AARCH64 => aarch64_constant(code),
        _ => None,
    }
}

/// The address the function at `vaddr` (whose code starts with `code`) passes as its callee's
/// first argument, when it does nothing before that but set up a frame.
pub fn first_argument_address(machine_id: u16, code: &[u8], vaddr: u64) -> Option<u64> {
    match machine_id {
        machine::X86_64 => x86_64_argument(code, vaddr),
        machine::AARCH64 => aarch64_argument(code, vaddr),
        _ => None,
    }
}

/// `endbr64`, then `push rbp; mov rbp, rsp` and `sub rsp, 8` where present: nothing a caller sees.
fn x86_64_prologue(code: &[u8]) -> (&[u8], bool) {
    let code = code.strip_prefix(&[0xf3, 0x0f, 0x1e, 0xfa]).unwrap_or(code);
    let (code, frame) = match code.strip_prefix(&[0x55, 0x48, 0x89, 0xe5]) {
        Some(rest) => (rest, true),
        None => (code, false),
    };
    (
        code.strip_prefix(&[0x48, 0x83, 0xec, 0x08]).unwrap_or(code),
        frame,
    )
}

fn x86_64_constant(code: &[u8]) -> Option<i64> {
    let (code, frame) = x86_64_prologue(code);
    let rest = code.strip_prefix(&[0xb8])?; // mov eax, imm32
    let value = i32::from_le_bytes(rest.get(..4)?.try_into().ok()?);
    let ret: &[u8] = if frame { &[0x5d, 0xc3] } else { &[0xc3] }; // (pop rbp;) ret
    rest[4..].starts_with(ret).then_some(i64::from(value))
}

fn x86_64_argument(code: &[u8], vaddr: u64) -> Option<u64> {
    let (rest, _) = x86_64_prologue(code);
    let at = code.len() - rest.len();
    // lea reg, [rip + disp32]: REX.W 8D, ModRM with mod 00 and r/m 101.
    let [0x48, 0x8d, modrm, d0, d1, d2, d3, ..] = *rest else {
        return None;
    };
    if modrm & 0xc7 != 0x05 {
        return None;
    }
    let reg = (modrm >> 3) & 7;
    // Into rdi directly (gcc -O2), or through another register (`mov rdi, rax` at -O0).
    if reg != 7 && rest.get(7..10) != Some(&[0x48, 0x89, 0xc7 | (reg << 3)]) {
        return None;
    }
    let disp = i32::from_le_bytes([d0, d1, d2, d3]);
    let next = vaddr.checked_add(at as u64 + 7)?;
    next.checked_add_signed(i64::from(disp))
}

fn words(code: &[u8]) -> Vec<u32> {
    code.chunks_exact(4)
        .map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]]))
        .collect()
}

/// `bti c`, `bti`, `paciasp`: hints that change no register.
const AARCH64_HINTS: [u32; 3] = [0xd503_245f, 0xd503_241f, 0xd503_233f];

fn aarch64_constant(code: &[u8]) -> Option<i64> {
    let words = words(code);
    let mut words = words.iter().skip_while(|w| AARCH64_HINTS.contains(*w));
    let mov = *words.next()?;
    let shifted = ((mov >> 5) & 0xffff) << (16 * ((mov >> 21) & 1));
    let value = match mov & 0xffc0_001f {
        0x5280_0000 => shifted,  // movz w0, #imm{, lsl #16}
        0x1280_0000 => !shifted, // movn w0, #imm{, lsl #16}
        _ => return None,
    };
    let mut next = *words.next()?;
    if next == 0xd503_23bf {
        next = *words.next()?; // autiasp
    }
    (next == 0xd65f_03c0).then_some(i64::from(value as i32)) // ret
}

fn aarch64_argument(code: &[u8], vaddr: u64) -> Option<u64> {
    let all = words(code);
    // Hints, then `stp x29, x30, [sp, #-16]!; mov x29, sp` where present.
    let skip = all
        .iter()
        .take_while(|w| AARCH64_HINTS.contains(*w) || **w == 0xa9bf_7bfd || **w == 0x9100_03fd)
        .count();
    let (adrp, add) = (*all.get(skip)?, *all.get(skip + 1)?);
    if adrp & 0x9f00_001f != 0x9000_0000 || add & 0xffc0_03ff != 0x9100_0000 {
        return None; // adrp x0, page; add x0, x0, #imm12
    }
    let imm = i64::from(((adrp >> 5) & 0x7_ffff) << 2 | ((adrp >> 29) & 3));
    let imm = (imm << 43) >> 43; // sign-extend 21 bits
    let pc = vaddr.checked_add(4 * skip as u64)?;
    let page = (pc & !0xfff).checked_add_signed(imm << 12)?;
    page.checked_add(u64::from((add >> 10) & 0xfff))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn le(words: &[u32]) -> Vec<u8> {
        words.iter().flat_map(|w| w.to_le_bytes()).collect()
    }

    #[test]
    fn x86_64_sequences_of_gcc_and_clang() {
        let x = machine::X86_64;
        // -O2: mov eax, 9; ret
        assert_eq!(returned_constant(x, &[0xb8, 9, 0, 0, 0, 0xc3]), Some(9));
        // -O0 with endbr64: push rbp; mov rbp, rsp; mov eax, 10; pop rbp; ret
        let o0 = [
            0xf3, 0x0f, 0x1e, 0xfa, 0x55, 0x48, 0x89, 0xe5, 0xb8, 10, 0, 0, 0, 0x5d, 0xc3,
        ];
        assert_eq!(returned_constant(x, &o0), Some(10));
        // Anything else: a call first, a missing ret.
        assert_eq!(returned_constant(x, &[0xe8, 0, 0, 0, 0, 0xc3]), None);
        assert_eq!(returned_constant(x, &[0xb8, 9, 0, 0, 0, 0x90]), None);
        // lea rdi, [rip + 0x2fe9]; jmp ... at 0x1050 → 0x4040
        let lea = [
            0x48, 0x8d, 0x3d, 0xe9, 0x2f, 0, 0, 0xe9, 0xd4, 0xff, 0xff, 0xff,
        ];
        assert_eq!(first_argument_address(x, &lea, 0x1050), Some(0x4040));
    }

    #[test]
    fn aarch64_sequences() {
        let a = machine::AARCH64;
        // mov w0, #10; ret
        assert_eq!(
            returned_constant(a, &le(&[0x5280_0140, 0xd65f_03c0])),
            Some(10)
        );
        // bti c; mov w0, #0x7fffffff (movn w0, #0x8000, lsl #16); ret
        let experimental = le(&[0xd503_245f, 0x12b0_0000, 0xd65f_03c0]);
        assert_eq!(returned_constant(a, &experimental), Some(0x7fff_ffff));
        assert_eq!(returned_constant(a, &le(&[0x5280_0140, 0xd503_201f])), None);
        // adrp x0, #0x10000 (from 0x1000: page 0x11000); add x0, x0, #0x40; b ...
        let adrp = 0x9000_0000 | (4 << 5); // immhi:immlo = 16 pages
        let add = 0x9100_0000 | (0x40 << 10);
        let code = le(&[adrp, add, 0x1400_0000]);
        assert_eq!(first_argument_address(a, &code, 0x1000), Some(0x11040));
    }
}
