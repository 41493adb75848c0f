//! Pages, tokens, URIs and messages of a list.

use super::*;

fn opts() -> ListOptions {
    ListOptions {
        namespace: None,
        selector: None,
        chunk_size: 500,
        concurrency: 8,
        timeout: None,
        exec_limit: Duration::from_secs(1),
        verbosity: 0,
    }
}

fn engine() -> Engine {
    let yaml = r#"
kind: CustomResourceStateMetrics
spec:
  resources:
  - groupVersionKind: {group: "", version: v1, kind: ConfigMap}
    metrics:
    - name: cm_info
      help: x
      each:
        type: Info
        info:
          labelsFromPath:
            name: [metadata, name]
            api: [apiVersion]
            kind: [kind]
"#;
    let cfg: crate::config::Metrics = serde_yaml::from_str(yaml).unwrap();
    Engine::compile(&cfg, "test").unwrap()
}

fn cm_gvr() -> Gvr {
    Gvr {
        group: String::new(),
        version: "v1".into(),
        plural: "configmaps".into(),
        kind: "ConfigMap".into(),
        namespaced: true,
    }
}

fn evaluate(engine: &Engine, body: &str) -> (Result<Page, PageError>, Progressing) {
    let mut st = Progressing {
        batches: vec![engine.batch(0, None, Vec::new())],
        errors: EvalErrors::new(0),
        objects: 0,
    };
    let reads = engine.projection(&[0]);
    let page = evaluate_page(engine, &reads, &cm_gvr(), body.as_bytes(), &mut st);
    (page, st)
}

#[test]
fn pages_stream_items_and_find_the_token_wherever_it_is() {
    let engine = engine();
    // Core lists put metadata first and leave apiVersion/kind out of items.
    let body = r#"{"kind":"ConfigMapList","apiVersion":"v1","metadata":{"resourceVersion":"9","continue":"abc"},
            "items":[{"metadata":{"name":"a"}},{"metadata":{"name":"b"}}]}"#;
    let (page, st) = evaluate(&engine, body);
    let page = page.ok().unwrap();
    assert_eq!((page.objects, page.next.as_deref()), (2, Some("abc")));
    assert_eq!(st.batches[0].objects, 2);
    let set = engine.assemble(st.batches);
    let mut seen = Vec::new();
    set.families[0]
        .for_each_sample(|_, s| {
            seen.push(format!(
                "{} {} {}",
                s.label("name").unwrap(),
                s.label("api").unwrap(),
                s.label("kind").unwrap()
            ));
            Ok(())
        })
        .unwrap();
    assert_eq!(seen, ["a v1 ConfigMap", "b v1 ConfigMap"]);

    // Unstructured lists sort keys: metadata last; an empty token ends the list.
    let body = r#"{"apiVersion":"v1","items":[{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"}}],
            "kind":"ConfigMapList","metadata":{"continue":""}}"#;
    let (page, _) = evaluate(&engine, body);
    let page = page.ok().unwrap();
    assert_eq!((page.objects, page.next), (1, None));
    let (page, _) = evaluate(&engine, r#"{"items":null,"metadata":{}}"#);
    assert_eq!(page.ok().unwrap().objects, 0);
}

#[test]
fn tokens_are_peeked_without_reading_items() {
    let sorted = br#"{"apiVersion":"v1","items":[{"metadata":{"continue":"no"}}],"kind":"L","metadata":{"continue":"yes","resourceVersion":"1"}}
"#;
    assert_eq!(
        trailing_metadata(sorted).unwrap().token.as_deref(),
        Some("yes")
    );
    assert_eq!(peek_token(sorted).as_deref(), Some("yes"));
    // Metadata first (built-in lists): found by the scan, not at the end.
    let typed =
        br#"{"kind":"L","metadata":{"continue":"yes"},"items":[{"metadata":{"continue":"no"}}]}"#;
    assert!(trailing_metadata(typed).is_none());
    assert_eq!(peek_token(typed).as_deref(), Some("yes"));
    // The last page, an escaped look-alike key, and no list at all.
    assert_eq!(
        peek_token(br#"{"items":[],"metadata":{"continue":""}}"#),
        None
    );
    let lookalike = br#"{"items":[],"x\"metadata":{"continue":"no"}}"#;
    assert!(trailing_metadata(lookalike).is_none());
    assert_eq!(peek_token(lookalike), None);
    assert_eq!(peek_token(b"<html>"), None);
}

#[test]
fn bodies_that_are_not_lists_are_rejected() {
    let engine = engine();
    for body in [
        "<html>",
        "[]",
        r#"{"items":{}}"#,
        r#"{"items":[]} x"#,
        r#"{"items":[{"metadata":{"name":"a"}},7]}"#,
        r#"{"items":[null]}"#,
    ] {
        match evaluate(&engine, body).0 {
            Err(PageError::Invalid(why)) => {
                assert!(why.starts_with("an invalid list"), "{why}")
            }
            _ => panic!("{body} accepted"),
        }
    }
}

#[test]
fn uris_carry_limit_selector_and_token() {
    let mut o = opts();
    assert_eq!(page_uri("/api/v1/pods", &o, None), "/api/v1/pods?limit=500");
    o.selector = Some("app in (a,b),tier!=db".into());
    o.chunk_size = 0;
    assert_eq!(
        page_uri("/api/v1/pods", &o, Some("eyJ2Ijoi+/=")),
        "/api/v1/pods?labelSelector=app%20in%20%28a%2Cb%29%2Ctier%21%3Ddb&continue=eyJ2Ijoi%2B%2F%3D"
    );
    o.selector = None;
    assert_eq!(page_uri("/api/v1/pods", &o, None), "/api/v1/pods");
}

#[test]
fn scopes_are_named() {
    let mut o = opts();
    assert_eq!(scope(&cm_gvr(), &o), "in all namespaces");
    o.namespace = Some("dev".into());
    assert_eq!(scope(&cm_gvr(), &o), "in namespace \"dev\"");
    let cluster_scoped = Gvr {
        namespaced: false,
        ..cm_gvr()
    };
    assert_eq!(scope(&cluster_scoped, &o), "(cluster-scoped)");
}
