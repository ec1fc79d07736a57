//! Charts of the statistics dashboard: inline SVG drawn on the server (no script library, no
//! canvas), so they print, work without JavaScript and are read out by screen readers.
//!
//! Every chart shows percentages (0–100, the rates of vn-standards §5): [`column_chart`] one
//! column per month, [`bar_chart`] one horizontal bar per field (long Vietnamese names fit
//! on the left). Each chart has a `<title>` and a `<desc>` listing every value, and each bar
//! its own `<title>` (the browser's tooltip) with what the rate is made of. A rate without a
//! denominator (`None`: nothing to count that month) is drawn as no bar with "—", never as 0.
//!
//! SVG elements are written with explicit end tags (`line … {}`): inside HTML a `<line>`
//! without one would swallow the elements after it.

use maud::{Markup, html};

use super::Lang;

/// One bar or column.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// Under the column, or left of the bar (a month, a field).
    pub label: String,
    /// Percent, 0–100; `None` when there was nothing to count.
    pub value: Option<f64>,
    /// What the value is made of ("12 / 15"), shown in the tooltip; may be empty.
    pub detail: String,
}

impl Bar {
    pub fn new(label: impl Into<String>, value: Option<f64>, detail: impl Into<String>) -> Self {
        Bar {
            label: label.into(),
            value: value.filter(|v| v.is_finite()),
            detail: detail.into(),
        }
    }
}

/// `95,5 %` (Vietnamese) or `95.5%` (English); `—` for no value. One decimal at most.
pub fn percent(lang: Lang, value: Option<f64>) -> String {
    let Some(value) = value.filter(|v| v.is_finite()) else {
        return "—".to_owned();
    };
    let text = format!("{value:.1}");
    let text = text.strip_suffix(".0").unwrap_or(&text).to_owned();
    match lang {
        Lang::Vi => format!("{} %", text.replace('.', ",")),
        Lang::En => format!("{text}%"),
    }
}

/// SVG coordinates with one decimal (no `18.000000000000004`).
fn n(value: f64) -> String {
    let text = format!("{value:.1}");
    text.strip_suffix(".0").unwrap_or(&text).to_owned()
}

fn clamp(value: f64) -> f64 {
    value.clamp(0.0, 100.0)
}

/// The tooltip of a bar: `label: value (detail)`.
fn bar_title(lang: Lang, bar: &Bar) -> String {
    let mut text = format!("{}: {}", bar.label, percent(lang, bar.value));
    if bar.value.is_none() {
        text.push_str(lang.tr(" (không có dữ liệu)", " (no data)"));
    } else if !bar.detail.is_empty() {
        text.push_str(&format!(" ({})", bar.detail));
    }
    text
}

/// Every value in words, for `<desc>`.
fn description(lang: Lang, bars: &[Bar]) -> String {
    if bars.is_empty() {
        return lang.tr("Không có dữ liệu.", "No data.").to_owned();
    }
    bars.iter()
        .map(|bar| bar_title(lang, bar))
        .collect::<Vec<_>>()
        .join("; ")
}

/// At most `chars` characters, with `…` when cut.
fn shorten(text: &str, chars: usize) -> String {
    if text.chars().count() <= chars {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(chars.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Vertical columns (one per month), 0–100 % on the vertical axis. `id` names the `<svg>`
/// (the title's id derives from it).
pub fn column_chart(lang: Lang, id: &str, title: &str, bars: &[Bar]) -> Markup {
    const WIDTH: f64 = 640.0;
    const HEIGHT: f64 = 250.0;
    const LEFT: f64 = 46.0;
    const RIGHT: f64 = 8.0;
    const TOP: f64 = 20.0;
    const BOTTOM: f64 = 34.0;
    let plot_width = WIDTH - LEFT - RIGHT;
    let plot_height = HEIGHT - TOP - BOTTOM;
    let band = plot_width / bars.len().max(1) as f64;
    let column = (band * 0.6).min(48.0);
    // Labels on every column while they fit, else on every k-th.
    let label_every = bars.len().div_ceil(12).max(1);
    let show_values = band >= 34.0;
    let y = |value: f64| TOP + plot_height * (1.0 - clamp(value) / 100.0);
    let title_id = format!("{id}-title");
    let desc_id = format!("{id}-desc");
    html! {
        figure.chart-figure {
            figcaption { (title) }
            svg.chart id=(id) xmlns="http://www.w3.org/2000/svg"
                viewBox={ "0 0 " (n(WIDTH)) " " (n(HEIGHT)) } role="img"
                aria-labelledby={ (title_id) " " (desc_id) } {
                title id=(title_id) { (title) }
                desc id=(desc_id) { (description(lang, bars)) }
                g.grid {
                    @for tick in [0.0, 25.0, 50.0, 75.0, 100.0] {
                        line x1=(n(LEFT)) x2=(n(WIDTH - RIGHT)) y1=(n(y(tick))) y2=(n(y(tick))) {}
                        text.tick x=(n(LEFT - 6.0)) y=(n(y(tick) + 4.0)) text-anchor="end" {
                            (n(tick)) "%"
                        }
                    }
                }
                @for (index, bar) in bars.iter().enumerate() {
                    @let center = LEFT + band * (index as f64 + 0.5);
                    g.bar {
                        title { (bar_title(lang, bar)) }
                        @if let Some(value) = bar.value {
                            rect x=(n(center - column / 2.0)) y=(n(y(value))) width=(n(column))
                                height=(n(plot_height * clamp(value) / 100.0)) {}
                        }
                        @if show_values || bar.value.is_none() {
                            text.value x=(n(center)) y=(n(y(bar.value.unwrap_or(0.0)) - 5.0))
                                text-anchor="middle" { (percent(lang, bar.value)) }
                        }
                        @if index % label_every == 0 {
                            text.label x=(n(center)) y=(n(HEIGHT - BOTTOM + 16.0)) text-anchor="middle" {
                                (shorten(&bar.label, 10))
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Horizontal bars (one per field) with the label on the left and the value after the bar.
pub fn bar_chart(lang: Lang, id: &str, title: &str, bars: &[Bar]) -> Markup {
    const WIDTH: f64 = 640.0;
    const ROW: f64 = 26.0;
    const TOP: f64 = 8.0;
    const LABEL: f64 = 230.0;
    const VALUE: f64 = 70.0;
    let height = TOP * 2.0 + ROW * bars.len().max(1) as f64;
    let track = WIDTH - LABEL - VALUE;
    let title_id = format!("{id}-title");
    let desc_id = format!("{id}-desc");
    html! {
        figure.chart-figure {
            figcaption { (title) }
            svg.chart id=(id) xmlns="http://www.w3.org/2000/svg"
                viewBox={ "0 0 " (n(WIDTH)) " " (n(height)) } role="img"
                aria-labelledby={ (title_id) " " (desc_id) } {
                title id=(title_id) { (title) }
                desc id=(desc_id) { (description(lang, bars)) }
                @if bars.is_empty() {
                    text.value x=(n(WIDTH / 2.0)) y=(n(TOP + ROW * 0.65)) text-anchor="middle" {
                        (lang.tr("Không có dữ liệu", "No data"))
                    }
                }
                @for (index, bar) in bars.iter().enumerate() {
                    @let top = TOP + ROW * index as f64;
                    @let length = track * clamp(bar.value.unwrap_or(0.0)) / 100.0;
                    g.bar {
                        title { (bar_title(lang, bar)) }
                        text.label x=(n(LABEL - 8.0)) y=(n(top + ROW * 0.65)) text-anchor="end" {
                            (shorten(&bar.label, 32))
                        }
                        line.track x1=(n(LABEL)) x2=(n(LABEL + track)) y1=(n(top + ROW / 2.0)) y2=(n(top + ROW / 2.0)) {}
                        @if bar.value.is_some() {
                            rect x=(n(LABEL)) y=(n(top + 4.0)) width=(n(length)) height=(n(ROW - 8.0)) {}
                        }
                        text.value x=(n(LABEL + length + 6.0)) y=(n(top + ROW * 0.65)) {
                            (percent(lang, bar.value))
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bars() -> Vec<Bar> {
        vec![
            Bar::new("T1", Some(50.0), "5 / 10"),
            Bar::new("T2", None, ""),
            Bar::new("T3", Some(100.0), "3 / 3"),
        ]
    }

    #[test]
    fn percentages_read_the_vietnamese_or_english_way() {
        assert_eq!(percent(Lang::Vi, Some(66.67)), "66,7 %");
        assert_eq!(percent(Lang::En, Some(66.67)), "66.7%");
        assert_eq!(percent(Lang::Vi, Some(100.0)), "100 %");
        assert_eq!(percent(Lang::En, None), "—");
        assert_eq!(percent(Lang::En, Some(f64::NAN)), "—");
    }

    #[test]
    fn columns_are_as_tall_as_their_rate_and_missing_months_have_none() {
        let svg = column_chart(Lang::Vi, "on-time", "Tỷ lệ đúng hạn", &bars()).into_string();
        // Plot height 196: 50 % is 98 high, 100 % is 196; the empty month draws no column.
        assert_eq!(svg.matches("<rect ").count(), 2, "{svg}");
        assert!(svg.contains("height=\"98\""), "{svg}");
        assert!(svg.contains("height=\"196\""), "{svg}");
        assert!(svg.contains("<title id=\"on-time-title\">Tỷ lệ đúng hạn</title>"));
        assert!(svg.contains("<title>T1: 50 % (5 / 10)</title>"), "{svg}");
        assert!(
            svg.contains("<title>T2: — (không có dữ liệu)</title>"),
            "{svg}"
        );
        assert!(svg.contains("aria-labelledby=\"on-time-title on-time-desc\""));
        // Every SVG element is closed explicitly.
        assert_eq!(
            svg.matches("<line ").count(),
            svg.matches("</line>").count()
        );
        assert_eq!(
            svg.matches("<rect ").count(),
            svg.matches("</rect>").count()
        );
    }

    #[test]
    fn values_beyond_the_scale_are_clamped_and_labels_are_escaped() {
        let svg = bar_chart(
            Lang::En,
            "by-field",
            "On-time rate by field",
            &[
                Bar::new("<script>alert(1)</script>", Some(150.0), "a & b"),
                Bar::new("Hộ tịch", Some(-5.0), ""),
            ],
        )
        .into_string();
        assert!(!svg.contains("<script>"), "{svg}");
        assert!(svg.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(svg.contains("a &amp; b"));
        // Track 340 wide: 150 % is drawn as 100 %, −5 % as 0.
        assert!(svg.contains("width=\"340\""), "{svg}");
        assert!(svg.contains("width=\"0\""), "{svg}");
        assert!(
            svg.contains("150%"),
            "the value itself is shown as it is: {svg}"
        );
    }

    #[test]
    fn an_empty_chart_says_so() {
        let svg = bar_chart(Lang::Vi, "x", "Trống", &[]).into_string();
        assert!(svg.contains("Không có dữ liệu"));
        assert!(!svg.contains("<rect"));
        let columns = column_chart(Lang::En, "y", "Empty", &[]).into_string();
        assert!(
            columns.contains("<desc id=\"y-desc\">No data.</desc>"),
            "{columns}"
        );
    }

    #[test]
    fn long_field_names_are_shortened_on_the_chart_but_whole_in_the_tooltip() {
        let name = "Thành lập và hoạt động của doanh nghiệp xã hội";
        let svg = bar_chart(Lang::Vi, "f", "t", &[Bar::new(name, Some(10.0), "")]).into_string();
        assert!(
            svg.contains(&format!("<title>{name}: 10 %</title>")),
            "{svg}"
        );
        assert!(svg.contains("Thành lập và hoạt động của doan…"), "{svg}");
        let many: Vec<Bar> = (1..=36)
            .map(|m| Bar::new(format!("{m}"), Some(1.0), ""))
            .collect();
        let svg = column_chart(Lang::Vi, "m", "t", &many).into_string();
        assert_eq!(
            svg.matches("class=\"label\"").count(),
            12,
            "every third month labelled"
        );
    }
}
