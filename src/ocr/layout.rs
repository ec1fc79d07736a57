//! Reading order of the two-column blocks of a Vietnamese administrative page.
//!
//! Decree 30/2020 lays out the top of a document in two columns (issuing agency and number
//! on the left; national motto, place and date on the right) and the bottom too (recipients,
//! "Nơi nhận", on the left; the signer on the right). Tesseract reads such blocks line by
//! line across both columns ("ỦY BAN NHÂN DÂN CỘNG HÒA XÃ HỘI ..."), which mixes the two
//! texts. A reader, and the metadata extraction, want each column whole: left, then right.
//! Only those two blocks are reordered; tables and forms elsewhere keep their row order.

use super::tsv::{BBox, Line, Word};

/// How many lines from the top a header block may start at (noise above it is common).
const HEADER_START_LINES: usize = 3;
/// A gap wider than this many word heights separates two columns.
const GUTTER_IN_WORD_HEIGHTS: u32 = 4;

/// `lines` with the header and footer column blocks read one column after the other.
pub fn reading_order(lines: &[Line]) -> Vec<Line> {
    let mut ordered = Vec::with_capacity(lines.len() + 8);
    let mut index = 0;
    while index < lines.len() {
        if let Some((run, next)) = column_run(lines, index) {
            // The header opens the page: only a little noise (a punched hole, a stamp)
            // may be read above it.
            let header = index < HEADER_START_LINES
                && lines[..index].iter().all(|line| line.words.len() <= 3);
            let footer = run
                .first()
                .and_then(|(left, _)| left.as_ref())
                .is_some_and(is_recipients);
            if header || footer {
                ordered.extend(run.iter().filter_map(|(left, _)| left.clone()));
                ordered.extend(run.iter().filter_map(|(_, right)| right.clone()));
                index = next;
                continue;
            }
        }
        ordered.push(lines[index].clone());
        index += 1;
    }
    ordered
}

type Halves = (Option<Line>, Option<Line>);

/// The block of lines starting at `start` that share a column gutter: each either splits
/// at the gutter or lies wholly on one side of it. `None` when `start` does not split.
fn column_run(lines: &[Line], start: usize) -> Option<(Vec<Halves>, usize)> {
    let (left, right, mut gutter) = split(&lines[start])?;
    let mut run = vec![(Some(left), Some(right))];
    let mut next = start + 1;
    while let Some(line) = lines.get(next) {
        if let Some((left, right, line_gutter)) = split(line)
            && line_gutter.0 < gutter.1
            && gutter.0 < line_gutter.1
        {
            gutter = (gutter.0.max(line_gutter.0), gutter.1.min(line_gutter.1));
            run.push((Some(left), Some(right)));
        } else if line.bbox.right() <= (gutter.0 + gutter.1) / 2 {
            run.push((Some(line.clone()), None));
        } else if line.bbox.left >= (gutter.0 + gutter.1) / 2 {
            run.push((None, Some(line.clone())));
        } else {
            break; // a line across the gutter: the columns have ended
        }
        next += 1;
    }
    Some((run, next))
}

/// Splits a line at its widest gap when that gap is wide enough to be a column gutter;
/// returns both halves and the gutter's horizontal extent.
fn split(line: &Line) -> Option<(Line, Line, (u32, u32))> {
    let mut heights: Vec<u32> = line.words.iter().map(|w| w.bbox.height).collect();
    heights.sort_unstable();
    let word_height = *heights.get(heights.len() / 2)?;
    let (at, gap) = line
        .words
        .windows(2)
        .enumerate()
        .map(|(i, pair)| {
            (
                i + 1,
                pair[1].bbox.left.saturating_sub(pair[0].bbox.right()),
            )
        })
        .max_by_key(|(_, gap)| *gap)?;
    if gap <= GUTTER_IN_WORD_HEIGHTS * word_height.max(1) {
        return None;
    }
    let gutter = (line.words[at - 1].bbox.right(), line.words[at].bbox.left);
    Some((
        part(line, &line.words[..at]),
        part(line, &line.words[at..]),
        gutter,
    ))
}

fn part(line: &Line, words: &[Word]) -> Line {
    let left = words.iter().map(|w| w.bbox.left).min().unwrap_or(0);
    let top = words.iter().map(|w| w.bbox.top).min().unwrap_or(0);
    let right = words.iter().map(|w| w.bbox.right()).max().unwrap_or(left);
    let bottom = words.iter().map(|w| w.bbox.bottom()).max().unwrap_or(top);
    Line {
        block: line.block,
        paragraph: line.paragraph,
        bbox: BBox {
            left,
            top,
            width: right - left,
            height: bottom - top,
        },
        words: words.to_vec(),
    }
}

/// "Nơi nhận:" (recipients), as OCR reads it, with or without its marks.
fn is_recipients(line: &Line) -> bool {
    let second = line
        .words
        .get(1)
        .map(|w| w.text.to_lowercase())
        .unwrap_or_default();
    let second = second.trim_end_matches([':', ';', '.']);
    matches!(second, "nhận" | "nhan" | "nhặn" | "nhấn")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ocr::tsv::plain_text;

    fn line(block: u32, words: &[(&str, u32)]) -> Line {
        let words: Vec<Word> = words
            .iter()
            .map(|(text, left)| Word {
                text: (*text).to_owned(),
                bbox: BBox {
                    left: *left,
                    top: 100 * block,
                    width: 30 * text.chars().count() as u32,
                    height: 40,
                },
                confidence: 90.0,
            })
            .collect();
        part(
            &Line {
                block,
                paragraph: 1,
                bbox: BBox {
                    left: 0,
                    top: 0,
                    width: 0,
                    height: 0,
                },
                words: Vec::new(),
            },
            &words,
        )
    }

    #[test]
    fn the_header_is_read_left_column_then_right_column() {
        let lines = vec![
            line(
                1,
                &[("ỦY", 100), ("BAN", 200), ("CỘNG", 1300), ("HÒA", 1500)],
            ),
            line(2, &[("XÃ", 150), ("AN", 250), ("Độc", 1400), ("lập", 1520)]),
            line(
                3,
                &[("Số:", 100), ("12/QĐ", 200), ("An,", 1300), ("ngày", 1420)],
            ),
            line(4, &[("QUYẾT", 900), ("ĐỊNH", 1100)]),
            line(
                5,
                &[
                    ("Điều", 100),
                    ("1.", 260),
                    ("Cấp", 330),
                    ("phép", 450),
                    ("xây", 600),
                    ("dựng", 750),
                    ("nhà", 900),
                    ("ở", 1020),
                    ("riêng", 1080),
                    ("lẻ", 1250),
                    ("cho", 1330),
                ],
            ),
        ];
        let text = plain_text(&reading_order(&lines));
        let order: Vec<&str> = text.split_whitespace().collect();
        assert_eq!(
            order,
            [
                "ỦY", "BAN", "XÃ", "AN", "Số:", "12/QĐ", "CỘNG", "HÒA", "Độc", "lập", "An,",
                "ngày", "QUYẾT", "ĐỊNH", "Điều", "1.", "Cấp", "phép", "xây", "dựng", "nhà", "ở",
                "riêng", "lẻ", "cho"
            ]
        );
    }

    #[test]
    fn the_recipients_block_comes_before_the_signature_block() {
        let lines = vec![
            line(
                1,
                &[("Điều", 100), ("3.", 260), ("Thi", 330), ("hành", 450)],
            ),
            line(
                2,
                &[("Nơi", 100), ("nhận:", 200), ("CHỦ", 1400), ("TỊCH", 1560)],
            ),
            line(3, &[("-", 100), ("Lưu:", 150), ("VT.", 300)]),
            line(4, &[("Nguyễn", 1350), ("Văn", 1600), ("An", 1750)]),
        ];
        let text = plain_text(&reading_order(&lines));
        assert_eq!(
            text.split_whitespace().collect::<Vec<_>>(),
            [
                "Điều", "3.", "Thi", "hành", "Nơi", "nhận:", "-", "Lưu:", "VT.", "CHỦ", "TỊCH",
                "Nguyễn", "Văn", "An"
            ]
        );
    }

    #[test]
    fn table_rows_in_the_body_keep_their_row_order() {
        let lines = vec![
            line(
                1,
                &[
                    ("Điều", 100),
                    ("1.", 260),
                    ("Nội", 330),
                    ("dung", 450),
                    ("dài", 600),
                    ("hết", 750),
                    ("dòng", 900),
                    ("văn", 1050),
                    ("bản", 1200),
                    ("này", 1350),
                ],
            ),
            line(
                2,
                &[
                    ("Dân", 100),
                    ("tộc:", 220),
                    ("Kinh", 340),
                    ("Tôn", 1200),
                    ("giáo:", 1320),
                    ("Không", 1480),
                ],
            ),
            line(
                3,
                &[
                    ("Quê", 100),
                    ("quán:", 220),
                    ("Huế", 380),
                    ("Nơi", 1200),
                    ("ở:", 1320),
                    ("Huế", 1400),
                ],
            ),
        ];
        let text = plain_text(&reading_order(&lines));
        assert_eq!(text, plain_text(&lines));
    }
}
