//! Blocking HTTP for the signing core: timestamp requests, OCSP, CRLs and AIA issuer
//! certificates. Bounded in time and size so a slow or hostile server cannot stall a signing
//! batch or fill memory.

use std::time::Duration;

use super::PadesError;

/// Largest response accepted (a national CA's CRL can reach a few megabytes).
const MAX_RESPONSE: u64 = 32 * 1024 * 1024;

pub struct Fetcher {
    agent: ureq::Agent,
}

impl Default for Fetcher {
    fn default() -> Self {
        Self::new(Duration::from_secs(20))
    }
}

impl Fetcher {
    pub fn new(timeout: Duration) -> Self {
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .tls_config(
                ureq::tls::TlsConfig::builder()
                    .provider(ureq::tls::TlsProvider::NativeTls)
                    .build(),
            )
            .build();
        Fetcher {
            agent: config.into(),
        }
    }

    /// GET `url`; any status other than 200 is an error.
    ///
    /// # Errors
    /// [`PadesError::Fetch`] with the URL and what went wrong.
    pub fn get(&self, url: &str) -> Result<Vec<u8>, PadesError> {
        let response = self
            .agent
            .get(url)
            .call()
            .map_err(|e| fetch_error(url, e))?;
        read(url, response)
    }

    /// POST `body` with `content_type` to `url`.
    ///
    /// # Errors
    /// [`PadesError::Fetch`].
    pub fn post(&self, url: &str, content_type: &str, body: &[u8]) -> Result<Vec<u8>, PadesError> {
        let response = self
            .agent
            .post(url)
            .content_type(content_type)
            .send(body)
            .map_err(|e| fetch_error(url, e))?;
        read(url, response)
    }
}

fn read(url: &str, mut response: ureq::http::Response<ureq::Body>) -> Result<Vec<u8>, PadesError> {
    let status = response.status();
    if status != 200 {
        return Err(PadesError::Fetch {
            url: url.to_owned(),
            reason: format!("HTTP {status}"),
        });
    }
    response
        .body_mut()
        .with_config()
        .limit(MAX_RESPONSE)
        .read_to_vec()
        .map_err(|e| fetch_error(url, e))
}

fn fetch_error(url: &str, e: ureq::Error) -> PadesError {
    PadesError::Fetch {
        url: url.to_owned(),
        reason: e.to_string(),
    }
}
