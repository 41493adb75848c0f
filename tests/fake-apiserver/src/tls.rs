//! TLS with a CA generated per server, as a cluster's own CA signs its API server.

use std::sync::Arc;

pub(crate) struct Tls {
    pub(crate) config: Arc<rustls::ServerConfig>,
    pub(crate) ca_pem: String,
}

pub(crate) fn make_tls() -> Tls {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
        KeyPair, KeyUsagePurpose, date_time_ymd,
    };
    let ca_key = KeyPair::generate().expect("ca key");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("ca params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name = rcgen::DistinguishedName::new();
    ca.distinguished_name
        .push(DnType::CommonName, "fake-kube-apiserver-ca");
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    ca.not_before = date_time_ymd(2000, 1, 1);
    ca.not_after = date_time_ymd(2099, 12, 31);
    let ca_cert = ca.self_signed(&ca_key).expect("ca cert");
    let issuer = Issuer::new(ca, ca_key);

    let names = [
        "127.0.0.1",
        "::1",
        "localhost",
        "kubernetes",
        "kubernetes.default.svc",
    ];
    let mut srv = CertificateParams::new(names.map(String::from).to_vec()).expect("server params");
    srv.distinguished_name = rcgen::DistinguishedName::new();
    srv.distinguished_name
        .push(DnType::CommonName, "kube-apiserver");
    srv.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    srv.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    srv.not_before = date_time_ymd(2000, 1, 1);
    srv.not_after = date_time_ymd(2099, 12, 31);
    let srv_key = KeyPair::generate().expect("server key");
    let srv_cert = srv.signed_by(&srv_key, &issuer).expect("server cert");

    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(srv_key.serialize_der().into());
    // An explicit provider: the default one is ambiguous when several crypto backends are linked.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("tls versions")
        .with_no_client_auth()
        .with_single_cert(vec![srv_cert.der().clone()], key)
        .expect("server tls config");
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Tls {
        config: Arc::new(config),
        ca_pem: ca_cert.pem(),
    }
}
