//! Tesseract's TSV output parsed into lines of words with boxes.
//!
//! TSV is the most compact of Tesseract's structured outputs and carries everything we
//! need: the reading order (block, paragraph, line, word numbers), each word's box in
//! pixels and its confidence. Parsing it is pure, so it is tested without Tesseract.

use serde::Serialize;
use unicode_normalization::UnicodeNormalization;

/// A rectangle in image pixels, origin at the top left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct BBox {
    pub left: u32,
    pub top: u32,
    pub width: u32,
    pub height: u32,
}

impl BBox {
    pub fn right(&self) -> u32 {
        self.left + self.width
    }

    pub fn bottom(&self) -> u32 {
        self.top + self.height
    }
}

/// A recognized word (NFC).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Word {
    pub text: String,
    #[serde(rename = "box")]
    pub bbox: BBox,
    /// Tesseract's confidence, 0 to 100.
    pub confidence: f32,
}

/// A text line in reading order.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub block: u32,
    pub paragraph: u32,
    pub bbox: BBox,
    pub words: Vec<Word>,
}

/// Parses Tesseract TSV (with or without its header row). Rows that do not parse are
/// skipped: Tesseract writes each row itself, so a bad row means a bug there, and dropping it
/// loses one word rather than the page.
pub fn parse(tsv: &str) -> Vec<Line> {
    let mut lines: Vec<Line> = Vec::new();
    for row in tsv.lines() {
        let fields: Vec<&str> = row.splitn(12, '\t').collect();
        if fields.len() < 11 {
            continue;
        }
        let number = |i: usize| fields[i].trim().parse::<u32>().ok();
        let (Some(level), Some(block), Some(paragraph)) = (number(0), number(2), number(3)) else {
            continue; // the header row
        };
        let (Some(left), Some(top), Some(width), Some(height)) =
            (number(6), number(7), number(8), number(9))
        else {
            continue;
        };
        let bbox = BBox {
            left,
            top,
            width,
            height,
        };
        match level {
            4 => lines.push(Line {
                block,
                paragraph,
                bbox,
                words: Vec::new(),
            }),
            5 => {
                let text: String = fields.get(11).unwrap_or(&"").trim().nfc().collect();
                if text.is_empty() {
                    continue;
                }
                let confidence = fields[10].trim().parse::<f32>().unwrap_or(0.0).max(0.0);
                let word = Word {
                    text,
                    bbox,
                    confidence,
                };
                match lines.last_mut() {
                    Some(current) if current.block == block && current.paragraph == paragraph => {
                        current.words.push(word);
                    }
                    // A word row always follows its line row; tolerate a missing one.
                    _ => lines.push(Line {
                        block,
                        paragraph,
                        bbox,
                        words: vec![word],
                    }),
                }
            }
            _ => {}
        }
    }
    lines.retain(|line| !line.words.is_empty());
    lines
}

/// Plain text in reading order: words joined by spaces, lines by newlines, and a blank line
/// between paragraphs (what `tesseract page out txt` prints).
pub fn plain_text(lines: &[Line]) -> String {
    let mut text = String::new();
    let mut previous: Option<(u32, u32)> = None;
    for line in lines {
        if let Some(previous) = previous {
            text.push('\n');
            if previous != (line.block, line.paragraph) {
                text.push('\n');
            }
        }
        let words: Vec<&str> = line.words.iter().map(|w| w.text.as_str()).collect();
        text.push_str(&words.join(" "));
        previous = Some((line.block, line.paragraph));
    }
    if !text.is_empty() {
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext
1\t1\t0\t0\t0\t0\t0\t0\t2480\t3508\t-1\t
2\t1\t1\t0\t0\t0\t300\t200\t900\t60\t-1\t
3\t1\t1\t1\t0\t0\t300\t200\t900\t60\t-1\t
4\t1\t1\t1\t1\t0\t300\t200\t900\t60\t-1\t
5\t1\t1\t1\t1\t1\t300\t200\t120\t60\t96.5\tQUYÊ\u{301}T
5\t1\t1\t1\t1\t2\t440\t200\t160\t60\t95.1\tĐỊNH
5\t1\t1\t1\t1\t3\t610\t200\t10\t60\t95.0\t 
2\t1\t2\t0\t0\t0\t300\t400\t900\t60\t-1\t
3\t1\t2\t1\t0\t0\t300\t400\t900\t60\t-1\t
4\t1\t2\t1\t1\t0\t300\t400\t900\t60\t-1\t
5\t1\t2\t1\t1\t1\t300\t400\t80\t60\t91\tSố:
5\t1\t2\t1\t1\t2\t390\t400\t200\t60\t88\t12/QĐ-UBND
4\t1\t2\t1\t2\t0\t300\t470\t900\t60\t-1\t
5\t1\t2\t1\t2\t1\t300\t470\t300\t60\t90\tTân
";

    #[test]
    fn words_are_grouped_into_lines_with_boxes_and_confidences() {
        let lines = parse(SAMPLE);
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0].words.len(), 2, "the blank word is dropped");
        assert_eq!(lines[1].words[1].text, "12/QĐ-UBND");
        assert_eq!(
            lines[1].words[1].bbox,
            BBox {
                left: 390,
                top: 400,
                width: 200,
                height: 60
            }
        );
        assert_eq!(lines[1].words[1].confidence, 88.0);
    }

    #[test]
    fn decomposed_vietnamese_is_normalized_to_nfc() {
        let lines = parse(SAMPLE);
        assert_eq!(lines[0].words[0].text, "QUYẾT");
        assert_eq!(lines[0].words[0].text.chars().count(), 5);
    }

    #[test]
    fn plain_text_separates_paragraphs_with_a_blank_line() {
        assert_eq!(
            plain_text(&parse(SAMPLE)),
            "QUYẾT ĐỊNH\n\nSố: 12/QĐ-UBND\nTân\n"
        );
        assert_eq!(plain_text(&[]), "");
    }

    #[test]
    fn garbage_rows_are_skipped_not_fatal() {
        assert!(parse("not\ta\ttsv\n5\tx\n").is_empty());
    }
}
