//! Checks that an alignment index (`.bai`, `.csi`, `.crai`) belongs to its BAM or CRAM, by
//! content rather than by modification time (workflow engines stage files by copy, so an
//! index may look older than its file and still be right, or newer and be wrong). The index
//! must point at records of the contig it lists, and nothing placed on the genome may follow
//! the last chunk it indexes: an index from an older, shorter version of the file would
//! otherwise silently hide every read written after it.
use anyhow::{bail, Context, Result};
use rust_htslib::bam::{self, Read as _};
use std::io::Read;
use std::path::Path;

/// Where an index says a contig's records start and end (BGZF virtual offsets for BAM,
/// byte offsets of containers for CRAM).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Span {
    tid: usize,
    first: u64,
    last_end: u64,
}

/// Checks `index` against `path` (BAM or CRAM); an error explains what does not match.
pub fn check(path: &Path, index: &Path) -> Result<()> {
    let bytes =
        std::fs::read(index).with_context(|| format!("{}: cannot read", index.display()))?;
    let name = index.to_string_lossy();
    if name.ends_with(".crai") {
        return check_cram(path, index, &bytes);
    }
    let spans = if name.ends_with(".csi") {
        let mut raw = Vec::new();
        noodles_bgzf::io::Reader::new(&bytes[..])
            .read_to_end(&mut raw)
            .with_context(|| format!("{}: unreadable CSI index", index.display()))?;
        csi_spans(&raw)
    } else {
        bai_spans(&bytes)
    }
    .with_context(|| format!("{}: malformed index", index.display()))?;
    check_bam(path, index, &spans)
}

/// Little-endian reader over an index's bytes (also used by `shards` to read read density).
pub(crate) struct Cursor<'a> {
    pub(crate) b: &'a [u8],
    pub(crate) i: usize,
}

impl Cursor<'_> {
    pub(crate) fn take(&mut self, n: usize) -> Result<&[u8]> {
        let s = self
            .b
            .get(self.i..self.i + n)
            .context("ends unexpectedly")?;
        self.i += n;
        Ok(s)
    }
    pub(crate) fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into()?))
    }
    pub(crate) fn i32(&mut self) -> Result<usize> {
        let v = i32::from_le_bytes(self.take(4)?.try_into()?);
        usize::try_from(v).context("negative count")
    }
    pub(crate) fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into()?))
    }
}

/// Per contig, the smallest chunk start and largest chunk end over its bins (the metadata
/// pseudo-bin excluded).
fn bin_spans(c: &mut Cursor, n_ref: usize, pseudo: u32, csi: bool) -> Result<Vec<Span>> {
    let mut spans = Vec::new();
    for tid in 0..n_ref {
        let (mut first, mut last_end) = (u64::MAX, 0u64);
        for _ in 0..c.i32()? {
            let bin = c.u32()?;
            if csi {
                c.u64()?; // loffset
            }
            let n_chunk = c.i32()?;
            for _ in 0..n_chunk {
                let (beg, end) = (c.u64()?, c.u64()?);
                if bin != pseudo {
                    first = first.min(beg);
                    last_end = last_end.max(end);
                }
            }
        }
        if !csi {
            let n_intv = c.i32()?;
            c.take(8 * n_intv)?;
        }
        if last_end > 0 {
            spans.push(Span {
                tid,
                first,
                last_end,
            });
        }
    }
    Ok(spans)
}

fn bai_spans(b: &[u8]) -> Result<Vec<Span>> {
    let mut c = Cursor { b, i: 0 };
    if c.take(4)? != b"BAI\x01" {
        bail!("not a BAI index");
    }
    let n_ref = c.i32()?;
    bin_spans(&mut c, n_ref, 37450, false)
}

fn csi_spans(b: &[u8]) -> Result<Vec<Span>> {
    let mut c = Cursor { b, i: 0 };
    if c.take(4)? != b"CSI\x01" {
        bail!("not a CSI index");
    }
    let _min_shift = c.i32()?;
    let depth = c.i32()?;
    let l_aux = c.i32()?;
    c.take(l_aux)?;
    let n_ref = c.i32()?;
    let pseudo = ((1u64 << ((depth as u64 + 1) * 3)) - 1) / 7 + 1;
    bin_spans(&mut c, n_ref, pseudo as u32, true)
}

fn check_bam(path: &Path, index: &Path, spans: &[Span]) -> Result<()> {
    let (shown, ishown) = (path.display(), index.display());
    let mut reader = bam::Reader::from_path(path)
        .map_err(|e| anyhow::anyhow!("{shown}: cannot open as BAM: {e}"))?;
    let n_targets = reader.header().target_count() as usize;
    if spans.iter().any(|s| s.tid >= n_targets) {
        bail!("{shown}: index {ishown} lists more contigs than the file's header (index of another file?)");
    }
    let mut rec = bam::Record::new();
    // the index's first chunk of each end contig must hold a record of that contig
    let ends = [spans.first(), spans.last()];
    for s in ends.into_iter().flatten() {
        let found = reader.seek(s.first as i64).is_ok()
            && matches!(reader.read(&mut rec), Some(Ok(())))
            && rec.tid() as usize == s.tid;
        if !found {
            bail!("{shown}: index {ishown} does not match this file (index of another BAM? re-run `samtools index {shown}`)");
        }
    }
    // nothing placed may follow the last indexed chunk
    let end = spans.iter().map(|s| s.last_end).max().unwrap_or(0);
    if end > 0 {
        if reader.seek(end as i64).is_err() {
            bail!("{shown}: index {ishown} points past the end of the file (index of another or a longer BAM? re-run `samtools index {shown}`)");
        }
        match reader.read(&mut rec) {
            None => {}
            Some(Ok(())) if rec.tid() < 0 => {}
            Some(Ok(())) => bail!("{shown}: index {ishown} is stale: reads follow the last chunk it indexes (index of an older version of this file? re-run `samtools index {shown}`)"),
            Some(Err(_)) => bail!("{shown}: index {ishown} does not match this file (index of another BAM? re-run `samtools index {shown}`)"),
        }
    }
    Ok(())
}

/// CRAM ITF8 / LTF8 integers and container headers.
struct CramCursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl CramCursor<'_> {
    fn byte(&mut self) -> Result<u8> {
        let v = *self.b.get(self.i).context("ends unexpectedly")?;
        self.i += 1;
        Ok(v)
    }
    fn itf8(&mut self) -> Result<i64> {
        let b0 = self.byte()? as i64;
        let (n, mut v) = match b0 {
            0x00..=0x7f => return Ok(b0),
            0x80..=0xbf => (1, b0 & 0x3f),
            0xc0..=0xdf => (2, b0 & 0x1f),
            0xe0..=0xef => (3, b0 & 0x0f),
            _ => (4, b0 & 0x0f),
        };
        for k in 0..n {
            let b = self.byte()? as i64;
            v = if k == 3 {
                (v << 4) | (b & 0x0f)
            } else {
                (v << 8) | b
            };
        }
        Ok(v as i32 as i64)
    }
    fn ltf8(&mut self) -> Result<i64> {
        let b0 = self.byte()?;
        let n = b0.leading_ones() as usize;
        let mut v = if n >= 8 {
            0
        } else {
            (b0 as i64) & ((1 << (7 - n)) - 1)
        };
        for _ in 0..n {
            v = (v << 8) | self.byte()? as i64;
        }
        Ok(v)
    }
}

/// A CRAM container header: reference id, record count, and where the next container starts.
struct Container {
    ref_id: i64,
    n_records: i64,
    next: u64,
}

fn container_at(f: &mut std::fs::File, offset: u64, major: u8) -> Result<Container> {
    use std::io::{Seek, SeekFrom};
    f.seek(SeekFrom::Start(offset))?;
    let mut head = Vec::with_capacity(64);
    f.take(1024).read_to_end(&mut head)?;
    let mut c = CramCursor { b: &head, i: 0 };
    let len = i32::from_le_bytes(head.get(..4).context("ends unexpectedly")?.try_into()?);
    c.i = 4;
    let ref_id = c.itf8()?;
    let (_start, _span, n_records) = (c.itf8()?, c.itf8()?, c.itf8()?);
    c.ltf8()?; // record counter
    c.ltf8()?; // bases
    c.itf8()?; // blocks
    for _ in 0..c.itf8()?.max(0) {
        c.itf8()?; // landmarks
    }
    if major >= 3 {
        c.i += 4; // crc32
    }
    if len < 0 {
        bail!("negative container length");
    }
    Ok(Container {
        ref_id,
        n_records,
        next: offset + c.i as u64 + len as u64,
    })
}

fn check_cram(path: &Path, index: &Path, crai: &[u8]) -> Result<()> {
    let (shown, ishown) = (path.display(), index.display());
    let mut text = String::new();
    flate2::read::MultiGzDecoder::new(crai)
        .read_to_string(&mut text)
        .with_context(|| format!("{ishown}: unreadable CRAM index"))?;
    // seq_id, start, span, container offset, slice offset, slice size
    let mut last: Option<(i64, u64)> = None;
    for (i, line) in text.lines().enumerate() {
        let f: Vec<i64> = line
            .split('\t')
            .map(|x| x.parse::<i64>())
            .collect::<Result<_, _>>()
            .ok()
            .filter(|f: &Vec<i64>| f.len() == 6 && f[3] >= 0)
            .with_context(|| format!("{ishown}: line {}: malformed CRAM index", i + 1))?;
        if last.is_none_or(|(_, off)| f[3] as u64 >= off) {
            last = Some((f[0], f[3] as u64));
        }
    }
    let Some((seq_id, offset)) = last else {
        return Ok(()); // an index of a file without placed reads
    };
    let mut f = std::fs::File::open(path).with_context(|| format!("{shown}: cannot open"))?;
    let size = f.metadata()?.len();
    let mut magic = [0u8; 6];
    f.read_exact(&mut magic)
        .with_context(|| format!("{shown}: cannot read"))?;
    let major = magic[4];
    let wrong = || {
        anyhow::anyhow!("{shown}: index {ishown} does not match this file (index of another CRAM? re-run `samtools index {shown}`)")
    };
    if offset >= size {
        bail!("{shown}: index {ishown} points past the end of the file (index of another or a longer CRAM? re-run `samtools index {shown}`)");
    }
    let c = container_at(&mut f, offset, major).map_err(|_| wrong())?;
    if c.ref_id != seq_id && c.ref_id != -2 {
        return Err(wrong());
    }
    let mut next = c.next;
    while next < size {
        let c = container_at(&mut f, next, major).map_err(|_| wrong())?;
        if c.n_records > 0 && c.ref_id != -1 {
            bail!("{shown}: index {ishown} is stale: reads follow the last container it indexes (index of an older version of this file? re-run `samtools index {shown}`)");
        }
        if c.next <= next {
            return Err(wrong());
        }
        next = c.next;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn itf8_and_ltf8_decode() {
        let mut c = CramCursor {
            b: &[0x05, 0x81, 0x00, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x80, 0x01],
            i: 0,
        };
        assert_eq!(c.itf8().unwrap(), 5);
        assert_eq!(c.itf8().unwrap(), 256);
        assert_eq!(c.itf8().unwrap(), -1);
        assert_eq!(c.ltf8().unwrap(), 1);
    }

    #[test]
    fn bundled_indexes_match_their_files() {
        let td = |n: &str| format!("{}/testdata/{n}", env!("CARGO_MANIFEST_DIR"));
        check(
            Path::new(&td("na12878.bam")),
            Path::new(&td("na12878.bam.bai")),
        )
        .unwrap();
        check(
            Path::new(&td("na12878.cram")),
            Path::new(&td("na12878.cram.crai")),
        )
        .unwrap();
    }
}
