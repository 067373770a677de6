//! The AWS SDK clients' trust store: a Secrets Manager client reaches an HTTPS endpoint whose CA
//! is given as `EXTRA_CA_CERTS`, and refuses the same endpoint when only the compiled-in Amazon
//! roots are trusted (the OS store is not read, and the sandbox CA is in no public store).
//! The endpoint is a TLS front on loopback (the sandbox certificate, for 127.0.0.1) that relays
//! each connection to moto.

use std::sync::Arc;

use rotation_core::sdk_http_client;
use rotation_testkit::Moto;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

fn sandbox(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} (source the sandbox's env)"))
}

/// Listens on 127.0.0.1 with the sandbox certificate and relays every connection, decrypted, to
/// `moto` (`http://127.0.0.1:PORT`). Returns the `https://` endpoint.
async fn tls_front(moto: &str) -> String {
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(sandbox("SANDBOX_TLS_CERT"))
            .expect("certificate file")
            .collect::<Result<_, _>>()
            .expect("certificate PEM");
    let key = PrivateKeyDer::from_pem_file(sandbox("SANDBOX_TLS_KEY")).expect("key PEM");
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("server configuration");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let upstream = moto.trim_start_matches("http://").to_string();
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                return;
            };
            let (acceptor, upstream) = (acceptor.clone(), upstream.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(socket).await else {
                    return;
                };
                let Ok(mut plain) = tokio::net::TcpStream::connect(upstream).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    format!("https://127.0.0.1:{port}")
}

/// A ListSecrets call through `endpoint` with the SDK clients' HTTPS client trusting `extra`.
async fn list_secrets(moto: &Moto, endpoint: &str, extra: Option<&str>) -> Result<(), String> {
    let http = sdk_http_client(extra, false).expect("the HTTPS client");
    let config = aws_sdk_secretsmanager::config::Builder::from(&moto.sdk_config().await)
        .endpoint_url(endpoint)
        .http_client(http)
        .build();
    aws_sdk_secretsmanager::Client::from_conf(config)
        .list_secrets()
        .send()
        .await
        .map(|_| ())
        .map_err(|e| format!("{}", aws_sdk_secretsmanager::error::DisplayErrorContext(e)))
}

#[tokio::test]
async fn the_sdk_client_trusts_extra_ca_certs_and_not_a_ca_outside_its_store() {
    let moto = Moto::from_env();
    let endpoint = tls_front(moto.endpoint()).await;
    let ca = sandbox("SANDBOX_TLS_CA");
    list_secrets(&moto, &endpoint, Some(&ca))
        .await
        .expect("the sandbox CA as EXTRA_CA_CERTS (a path) is trusted");
    let pem = std::fs::read_to_string(&ca).unwrap();
    list_secrets(&moto, &endpoint, Some(&pem))
        .await
        .expect("the sandbox CA as EXTRA_CA_CERTS (PEM text) is trusted");
    let refused = list_secrets(&moto, &endpoint, None)
        .await
        .expect_err("with the Amazon roots alone the sandbox certificate must be refused");
    assert!(
        refused.contains("certificate") || refused.contains("UnknownIssuer"),
        "refused for another reason than the certificate: {refused}"
    );
}
