//! A whole document: the pages of several input files, recognized in parallel and handed
//! back in order.
//!
//! Threads: one reader decodes pages in input order; `jobs` workers each hold an engine set
//! from the pool and recognize pages; the calling thread receives results, puts them back
//! in order and passes each to `on_page` (which writes the PDF). A page is admitted only
//! when one of `2 * jobs + 1` tokens is free, and its token returns after `on_page`, so at
//! most that many decoded pages exist at once, however long the document.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};

use super::input::{self, InputPage, KeptPage, PageImage};
use super::{EnginePool, OcrError, OcrSettings, PageResult, recognize_page};

/// A page ready for the output, in document order.
pub enum DonePage {
    /// A scan and what was recognized on it.
    Recognized(PageImage, PageResult),
    /// A PDF page with its own text, copied as it is.
    Kept(KeptPage),
}

/// Recognizes every page of `inputs` (in order) with `jobs` workers, calling `on_page` with
/// each page and its result in document order.
///
/// # Errors
/// The first input, engine or `on_page` error; the remaining work is abandoned.
pub fn run<F>(
    inputs: &[PathBuf],
    jobs: usize,
    settings: &OcrSettings,
    pool: &EnginePool,
    mut on_page: F,
) -> Result<usize, OcrError>
where
    F: FnMut(usize, DonePage) -> Result<(), OcrError>,
{
    let jobs = jobs.max(1);
    // Engines start in the workers, in parallel with the first decoding; a worker that
    // cannot start one reports the error like a failed page.
    let in_flight = 2 * jobs + 1;
    let (token_tx, token_rx) = sync_channel::<()>(in_flight);
    for _ in 0..in_flight {
        let _ = token_tx.send(());
    }
    let (page_tx, page_rx) = sync_channel::<(usize, InputPage)>(jobs);
    let page_rx = Arc::new(Mutex::new(page_rx));
    let (result_tx, result_rx) = sync_channel::<Message>(in_flight);

    std::thread::scope(|scope| {
        // Owned by this closure, so they close when it returns, before the scope joins.
        let (token_tx, result_rx, page_rx) = (token_tx, result_rx, page_rx);
        let reader_results = result_tx.clone();
        scope.spawn(move || {
            read_pages(
                inputs,
                settings.text_pages,
                &token_rx,
                &page_tx,
                &reader_results,
            )
        });
        for _ in 0..jobs {
            let (page_rx, result_tx) = (page_rx.clone(), result_tx.clone());
            scope.spawn(move || work(pool, settings, &page_rx, &result_tx));
        }
        // Only the workers keep the page queue open: when they have all stopped (say, no
        // engine could start), the reader's next send fails and it stops too.
        drop(page_rx);
        drop(result_tx);
        let outcome = deliver_in_order(&result_rx, &token_tx, &mut on_page);
        // On an early error the reader and workers may be blocked on these channels:
        // closing them makes every thread stop, so the scope can join them.
        drop(result_rx);
        drop(token_tx);
        outcome
    })
}

fn read_pages(
    inputs: &[PathBuf],
    text_pages: super::pdf_input::TextPages,
    tokens: &Receiver<()>,
    pages: &SyncSender<(usize, InputPage)>,
    results: &SyncSender<Message>,
) {
    let mut index = 0;
    let mut holding_token = false;
    for path in inputs {
        let mut file_pages = match input::open(path, text_pages) {
            Ok(file_pages) => file_pages,
            Err(e) => {
                let _ = results.send(Message::Page(index, Err(e)));
                return;
            }
        };
        loop {
            // The token is taken before the page is decoded, so decoded pages never
            // outnumber the tokens; one left over at the end of a file serves the next.
            if !holding_token {
                if tokens.recv().is_err() {
                    return; // the consumer stopped
                }
                holding_token = true;
            }
            let Some(page) = file_pages.next() else { break };
            holding_token = false;
            match page {
                Ok(page) => {
                    if pages.send((index, page)).is_err() {
                        return;
                    }
                }
                Err(e) => {
                    let _ = results.send(Message::Page(index, Err(e)));
                    return;
                }
            }
            index += 1;
        }
    }
    let _ = results.send(Message::End { pages: index });
}

/// What the reader and the workers tell the consumer.
enum Message {
    /// Page `index` is done (or failed).
    Page(usize, Result<DonePage, OcrError>),
    /// The input is exhausted after this many pages.
    End { pages: usize },
}

fn work(
    pool: &EnginePool,
    settings: &OcrSettings,
    pages: &Mutex<Receiver<(usize, InputPage)>>,
    results: &SyncSender<Message>,
) {
    // Engines start with the worker's first scan, so a short document on many cores does not
    // start an engine per core.
    let mut engines = None;
    loop {
        let next = match pages.lock() {
            Ok(receiver) => receiver.recv(),
            Err(_) => return,
        };
        let Ok((index, page)) = next else { return };
        let result = match page {
            InputPage::Scan(image) => {
                if engines.is_none() {
                    match pool.checkout() {
                        Ok(checked_out) => engines = Some(checked_out),
                        Err(e) => {
                            let _ = results.send(Message::Page(index, Err(e)));
                            return;
                        }
                    }
                }
                let Some(engines) = engines.as_mut() else {
                    return;
                };
                // A bug on one page must not take the whole process down: it fails that page.
                let recognized = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    recognize_page(engines, &image, settings)
                }));
                match recognized {
                    Ok(result) => result.map(|result| DonePage::Recognized(image, result)),
                    Err(_) => Err(OcrError::Engine {
                        page: image.label,
                        step: "internal error".to_owned(),
                    }),
                }
            }
            InputPage::Kept(kept) => Ok(DonePage::Kept(kept)),
        };
        if results.send(Message::Page(index, result)).is_err() {
            return;
        }
    }
}

fn deliver_in_order<F>(
    results: &Receiver<Message>,
    tokens: &SyncSender<()>,
    on_page: &mut F,
) -> Result<usize, OcrError>
where
    F: FnMut(usize, DonePage) -> Result<(), OcrError>,
{
    let mut waiting: BTreeMap<usize, DonePage> = BTreeMap::new();
    let mut next = 0;
    let mut total: Option<usize> = None;
    loop {
        while let Some(page) = waiting.remove(&next) {
            on_page(next, page)?;
            let _ = tokens.send(());
            next += 1;
        }
        if total == Some(next) {
            return Ok(next);
        }
        match results.recv() {
            Ok(Message::Page(index, Ok(done))) => {
                waiting.insert(index, done);
            }
            Ok(Message::Page(_, Err(e))) => return Err(e),
            Ok(Message::End { pages }) => total = Some(pages),
            Err(_) => {
                let page = format!("trang {}", next + 1);
                return Err(OcrError::Engine {
                    page,
                    step: "worker".to_owned(),
                });
            }
        }
    }
}
