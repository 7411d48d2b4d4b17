//! HTTPS served directly with rustls, using a certificate generated here.

use std::sync::Arc;
use tessera_server::config::Config;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls;

async fn get(server: std::net::SocketAddr, roots: rustls::RootCertStore, path: &str) -> String {
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(server).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let mut tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    tls.write_all(req.as_bytes()).await.unwrap();
    let mut out = Vec::new();
    let _ = tls.read_to_end(&mut out).await;
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn serves_https_with_a_generated_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.signing_key.serialize_pem()).unwrap();
    let cfg = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().join("data"),
        argon2_memory_kib: 256,
        argon2_iterations: 1,
        tls_cert: Some(cert.clone()),
        tls_key: Some(key.clone()),
        ..Config::default()
    };
    assert!(
        cfg.secure_cookies(),
        "TLS makes cookies Secure/__Host- by default"
    );
    let server =
        tessera_server::spawn(cfg, Arc::new(tessera_jose::ManualClock::new(1_800_000_000)))
            .await
            .unwrap();
    let addr = server.addr();

    let mut roots = rustls::RootCertStore::empty();
    roots.add(ck.cert.der().clone()).unwrap();
    let res = get(addr, roots.clone(), "/.well-known/openid-configuration").await;
    assert!(res.starts_with("HTTP/1.1 200"), "{res}");
    assert!(
        res.contains("\"issuer\":\"https://127.0.0.1:"),
        "the default issuer is https when TLS is on: {res}"
    );
    let res = get(addr, roots, "/healthz").await;
    assert!(res.starts_with("HTTP/1.1 200"), "{res}");

    // Plain HTTP on the TLS port gets no HTTP answer.
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let _ =
        tokio::time::timeout(std::time::Duration::from_secs(5), tcp.read_to_end(&mut buf)).await;
    assert!(!String::from_utf8_lossy(&buf).contains("200 OK"));

    // An untrusted certificate is refused by the client.
    let other = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let mut wrong = rustls::RootCertStore::empty();
    wrong.add(other.cert.der().clone()).unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(wrong)
    .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    assert!(tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, tcp)
        .await
        .is_err());
    server.shutdown().await;
}

#[tokio::test]
async fn bad_tls_settings_name_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let mut flags = serde_json::Map::new();
    flags.insert("tls_cert".into(), "/nonexistent/cert.pem".into());
    flags.insert("tls_key".into(), "/nonexistent/key.pem".into());
    let err = Config::load(None, &[], &flags).unwrap_err();
    assert!(err.0.contains("tls_cert"), "{err}");
    let mut flags = serde_json::Map::new();
    let cert = dir.path().join("c.pem");
    std::fs::write(&cert, "not a certificate").unwrap();
    flags.insert("tls_cert".into(), cert.display().to_string().into());
    let err = Config::load(None, &[], &flags).unwrap_err();
    assert!(err.0.contains("tls_key"), "{err}");
}
