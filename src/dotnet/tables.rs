//! The `#~` table stream (ECMA-335 II.24.2.6): its header, the width of every column of the tables
//! up to Assembly (0x20), and the rows of TypeRef (II.22.38), MethodDef (II.22.26), MemberRef
//! (II.22.25), CustomAttribute (II.22.10), ModuleRef (II.22.31), ImplMap (II.22.22) and Assembly
//! (II.22.2).
//!
//! Row counts come from the file, so every size is computed in `u64` and checked against the
//! stream before a row is read; the number of rows read is bounded by the stream's length.

use super::MalformedAssembly;
use super::pe::{slice, u8_at, u16_at, u32_at, u64_at};

const TYPE_REF: usize = 0x01;
const METHOD_DEF: usize = 0x06;
const MEMBER_REF: usize = 0x0A;
const CUSTOM_ATTRIBUTE: usize = 0x0C;
const MODULE_REF: usize = 0x1A;
const IMPL_MAP: usize = 0x1C;
const ASSEMBLY: usize = 0x20;

/// One column of a table row.
#[derive(Clone, Copy)]
enum Col {
    U16,
    U32,
    Str,
    Guid,
    Blob,
    /// An index into one table.
    Table(usize),
    /// A coded index over several tables (II.24.2.6): the tag bits and the tables.
    Coded(u32, &'static [usize]),
}

use Col::{Blob, Coded, Guid, Str, Table, U16, U32};

// Coded indexes used by tables 0x00-0x20. Absent table slots ("not used") take no rows.
const TYPE_DEF_OR_REF: Col = Coded(2, &[0x02, 0x01, 0x1B]);
const HAS_CONSTANT: Col = Coded(2, &[0x04, 0x08, 0x17]);
const HAS_CUSTOM_ATTRIBUTE: Col = Coded(
    5,
    &[
        0x06, 0x04, 0x01, 0x02, 0x08, 0x09, 0x0A, 0x00, 0x0E, 0x17, 0x14, 0x11, 0x1A, 0x1B, 0x20,
        0x23, 0x26, 0x27, 0x28, 0x2A, 0x2C, 0x2B,
    ],
);
const HAS_FIELD_MARSHAL: Col = Coded(1, &[0x04, 0x08]);
const HAS_DECL_SECURITY: Col = Coded(2, &[0x02, 0x06, 0x20]);
const MEMBER_REF_PARENT: Col = Coded(3, &[0x02, 0x01, 0x1A, 0x06, 0x1B]);
const HAS_SEMANTICS: Col = Coded(1, &[0x14, 0x17]);
const METHOD_DEF_OR_REF: Col = Coded(1, &[0x06, 0x0A]);
const MEMBER_FORWARDED: Col = Coded(1, &[0x04, 0x06]);
const CUSTOM_ATTRIBUTE_TYPE: Col = Coded(3, &[0x06, 0x0A]);
const RESOLUTION_SCOPE: Col = Coded(2, &[0x00, 0x1A, 0x23, 0x01]);

/// The columns of tables 0x00 (Module) to 0x20 (Assembly), in table order (II.22).
const SCHEMA: [&[Col]; ASSEMBLY + 1] = [
    &[U16, Str, Guid, Guid, Guid], // 0x00 Module
    &[RESOLUTION_SCOPE, Str, Str], // 0x01 TypeRef
    &[U32, Str, Str, TYPE_DEF_OR_REF, Table(0x04), Table(0x06)], // 0x02 TypeDef
    &[Table(0x04)],                // 0x03 FieldPtr
    &[U16, Str, Blob],             // 0x04 Field
    &[Table(0x06)],                // 0x05 MethodPtr
    &[U32, U16, U16, Str, Blob, Table(0x08)], // 0x06 MethodDef
    &[Table(0x08)],                // 0x07 ParamPtr
    &[U16, U16, Str],              // 0x08 Param
    &[Table(0x02), TYPE_DEF_OR_REF], // 0x09 InterfaceImpl
    &[MEMBER_REF_PARENT, Str, Blob], // 0x0A MemberRef
    &[U16, HAS_CONSTANT, Blob],    // 0x0B Constant (type byte + pad)
    &[HAS_CUSTOM_ATTRIBUTE, CUSTOM_ATTRIBUTE_TYPE, Blob], // 0x0C CustomAttribute
    &[HAS_FIELD_MARSHAL, Blob],    // 0x0D FieldMarshal
    &[U16, HAS_DECL_SECURITY, Blob], // 0x0E DeclSecurity
    &[U16, U32, Table(0x02)],      // 0x0F ClassLayout
    &[U32, Table(0x04)],           // 0x10 FieldLayout
    &[Blob],                       // 0x11 StandAloneSig
    &[Table(0x02), Table(0x14)],   // 0x12 EventMap
    &[Table(0x14)],                // 0x13 EventPtr
    &[U16, Str, TYPE_DEF_OR_REF],  // 0x14 Event
    &[Table(0x02), Table(0x17)],   // 0x15 PropertyMap
    &[Table(0x17)],                // 0x16 PropertyPtr
    &[U16, Str, Blob],             // 0x17 Property
    &[U16, Table(0x06), HAS_SEMANTICS], // 0x18 MethodSemantics
    &[Table(0x02), METHOD_DEF_OR_REF, METHOD_DEF_OR_REF], // 0x19 MethodImpl
    &[Str],                        // 0x1A ModuleRef
    &[Blob],                       // 0x1B TypeSpec
    &[U16, MEMBER_FORWARDED, Str, Table(MODULE_REF)], // 0x1C ImplMap
    &[U32, Table(0x04)],           // 0x1D FieldRVA
    &[U32, U32],                   // 0x1E EncLog
    &[U32],                        // 0x1F EncMap
    &[U32, U16, U16, U16, U16, U32, Blob, Str, Str], // 0x20 Assembly
];

/// The table stream's layout: row counts, index widths and where each table starts.
pub(super) struct Tables<'a> {
    stream: &'a [u8],
    rows: [u32; 64],
    heap_sizes: u8,
    /// Byte offset of tables 0x00..=0x20 in the stream.
    start: [usize; ASSEMBLY + 1],
}

/// An ImplMap row: the imported entry point (may be empty) and whom it belongs to.
pub(super) struct ImplMapRow {
    /// A 1-based MethodDef row when the forwarded member is a method.
    pub method: Option<u32>,
    pub import_name: u32,
    /// A 1-based ModuleRef row.
    pub module_ref: u32,
}

fn bad(why: &str) -> MalformedAssembly {
    MalformedAssembly(why.to_string())
}

impl<'a> Tables<'a> {
    pub(super) fn read(stream: &'a [u8]) -> Result<Self, MalformedAssembly> {
        let truncated = || bad("truncated #~ stream header");
        let heap_sizes = u8_at(stream, 6).ok_or_else(truncated)?;
        let valid = u64_at(stream, 8).ok_or_else(truncated)?;
        let mut rows = [0u32; 64];
        let mut at = 24usize;
        for (table, count) in rows.iter_mut().enumerate() {
            if valid & (1 << table) != 0 {
                *count = u32_at(stream, at).ok_or_else(truncated)?;
                at += 4;
            }
        }
        // The uncompressed `#-` stream may carry 4 extra bytes after the counts.
        if heap_sizes & 0x40 != 0 {
            at += 4;
        }
        let mut tables = Tables {
            stream,
            rows,
            heap_sizes,
            start: [0; ASSEMBLY + 1],
        };
        let mut offset = at as u64;
        for table in 0..=ASSEMBLY {
            tables.start[table] = usize::try_from(offset).map_err(|_| truncated())?;
            offset += u64::from(tables.rows[table]) * tables.row_size(table) as u64;
        }
        if offset > stream.len() as u64 {
            return Err(bad("the #~ stream is shorter than its row counts claim"));
        }
        Ok(tables)
    }

    fn width(&self, col: Col) -> usize {
        let big_heap = |bit: u8| if self.heap_sizes & bit != 0 { 4 } else { 2 };
        match col {
            U16 => 2,
            U32 => 4,
            Str => big_heap(0x01),
            Guid => big_heap(0x02),
            Blob => big_heap(0x04),
            Table(t) => {
                if self.rows[t] < 1 << 16 {
                    2
                } else {
                    4
                }
            }
            Coded(tag_bits, tables) => {
                let most = tables.iter().map(|&t| self.rows[t]).max().unwrap_or(0);
                if most < 1 << (16 - tag_bits) { 2 } else { 4 }
            }
        }
    }

    fn row_size(&self, table: usize) -> usize {
        SCHEMA[table].iter().map(|&c| self.width(c)).sum()
    }

    /// Column `col` of the 1-based row `row` of `table`.
    fn cell(&self, table: usize, row: u32, col: usize) -> Result<u32, MalformedAssembly> {
        let size = self.row_size(table);
        let skip: usize = SCHEMA[table][..col].iter().map(|&c| self.width(c)).sum();
        let width = self.width(SCHEMA[table][col]);
        let at = (row as usize - 1)
            .checked_mul(size)
            .and_then(|o| o.checked_add(self.start[table] + skip))
            .ok_or_else(|| bad("row offset overflows"))?;
        let bytes = slice(self.stream, at, width).ok_or_else(|| bad("row past the stream"))?;
        Ok(match width {
            2 => u32::from(u16_at(bytes, 0).unwrap_or(0)),
            _ => u32_at(bytes, 0).unwrap_or(0),
        })
    }

    /// The `Name` column of ModuleRef row `row` (1-based), or `None` for a row that does not exist.
    pub(super) fn module_ref_name(&self, row: u32) -> Result<Option<u32>, MalformedAssembly> {
        if row == 0 || row > self.rows[MODULE_REF] {
            return Ok(None);
        }
        self.cell(MODULE_REF, row, 0).map(Some)
    }

    /// The `Name` column of MethodDef row `row` (1-based), or `None` for a row that does not exist.
    pub(super) fn method_name(&self, row: u32) -> Result<Option<u32>, MalformedAssembly> {
        if row == 0 || row > self.rows[METHOD_DEF] {
            return Ok(None);
        }
        self.cell(METHOD_DEF, row, 3).map(Some)
    }

    /// Every ImplMap row, in table order.
    pub(super) fn impl_maps(&self) -> Result<Vec<ImplMapRow>, MalformedAssembly> {
        (1..=self.rows[IMPL_MAP])
            .map(|row| {
                let forwarded = self.cell(IMPL_MAP, row, 1)?;
                // MemberForwarded: tag 0 Field, 1 MethodDef.
                let method = (forwarded & 1 == 1).then_some(forwarded >> 1);
                Ok(ImplMapRow {
                    method,
                    import_name: self.cell(IMPL_MAP, row, 2)?,
                    module_ref: self.cell(IMPL_MAP, row, 3)?,
                })
            })
            .collect()
    }
}

/// A custom attribute row: whom it is on (a HasCustomAttribute coded index), its constructor (a
/// CustomAttributeType coded index) and its value blob.
pub(super) struct AttributeRow {
    pub parent: u32,
    pub constructor: u32,
    pub value: u32,
}

/// HasCustomAttribute tags (II.24.2.6) of the parents that carry DefaultDllImportSearchPaths.
pub(super) const PARENT_METHOD_DEF: u32 = 0;
pub(super) const PARENT_ASSEMBLY: u32 = 14;

impl Tables<'_> {
    /// The Assembly row's Name and version (Major, Minor, Build, Revision), if the file has one.
    pub(super) fn assembly(&self) -> Result<Option<(u32, [u16; 4])>, MalformedAssembly> {
        if self.rows[ASSEMBLY] == 0 {
            return Ok(None);
        }
        let mut version = [0u16; 4];
        for (i, part) in version.iter_mut().enumerate() {
            *part = self.cell(ASSEMBLY, 1, 1 + i)? as u16;
        }
        Ok(Some((self.cell(ASSEMBLY, 1, 7)?, version)))
    }

    /// Every CustomAttribute row, in table order.
    pub(super) fn attributes(&self) -> Result<Vec<AttributeRow>, MalformedAssembly> {
        (1..=self.rows[CUSTOM_ATTRIBUTE])
            .map(|row| {
                Ok(AttributeRow {
                    parent: self.cell(CUSTOM_ATTRIBUTE, row, 0)?,
                    constructor: self.cell(CUSTOM_ATTRIBUTE, row, 1)?,
                    value: self.cell(CUSTOM_ATTRIBUTE, row, 2)?,
                })
            })
            .collect()
    }

    /// The (namespace, name) string indexes of the type whose constructor a CustomAttributeType
    /// coded index names, when it is a MemberRef on a TypeRef (an attribute of another assembly).
    pub(super) fn attribute_type(
        &self,
        constructor: u32,
    ) -> Result<Option<(u32, u32)>, MalformedAssembly> {
        // CustomAttributeType: 3 tag bits, 3 = MemberRef.
        if constructor & 7 != 3 {
            return Ok(None);
        }
        let member = constructor >> 3;
        if member == 0 || member > self.rows[MEMBER_REF] {
            return Ok(None);
        }
        // MemberRefParent: 3 tag bits, 1 = TypeRef.
        let class = self.cell(MEMBER_REF, member, 0)?;
        let type_ref = class >> 3;
        if class & 7 != 1 || type_ref == 0 || type_ref > self.rows[TYPE_REF] {
            return Ok(None);
        }
        Ok(Some((
            self.cell(TYPE_REF, type_ref, 2)?,
            self.cell(TYPE_REF, type_ref, 1)?,
        )))
    }
}
