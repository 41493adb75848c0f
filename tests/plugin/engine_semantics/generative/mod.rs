//! Generative test: random configs and objects, the engine against a plain
//! reference model of KSM v2.20's `pkg/customresourcestate` (registry_factory.go),
//! written from KSM's source and independent of the engine's code. The model
//! follows KSM except for the README's deliberate differences that can show up
//! here: star labels with invalid or reserved names are left out (and counted
//! as errors), and sample order within an object is not compared (KSM's sort
//! is not stable).

mod generate;
mod model;

use super::*;

/// Sample lines of Prometheus text as (name, labels, value).
fn parse_samples(text: &str) -> Vec<model::Sample> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').unwrap();
            let mut labels = model::Labels::new();
            let name = match series.split_once('{') {
                None => series.to_string(),
                Some((name, mut rest)) => {
                    // Values hold no quotes or backslashes here.
                    while let Some((k, after)) = rest.split_once("=\"") {
                        let (v, after) = after.split_once('"').unwrap();
                        labels.insert(k.to_string(), v.to_string());
                        rest = after.trim_start_matches(',');
                    }
                    name.to_string()
                }
            };
            (name, labels, value.parse::<f64>().unwrap())
        })
        .collect()
}

/// A sample as compared: name, sorted labels, value bits.
type Compared = (String, Vec<(String, String)>, String);

fn sorted(mut s: Vec<model::Sample>) -> Vec<Compared> {
    let mut out: Vec<_> = s
        .drain(..)
        .map(|(n, l, v)| {
            // Values compare by bits (NaN equals NaN); -0 and 0 print alike.
            let v = if v == 0.0 { 0.0 } else { v };
            (n, l.into_iter().collect(), format!("{:x}", v.to_bits()))
        })
        .collect();
    out.sort();
    out
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 600, ..Default::default() })]

    #[test]
    fn random_configs_and_objects_match_the_ksm_model(
        res in generate::resource(),
        objects in proptest::collection::vec(generate::object(), 1..3),
    ) {
        let config = generate::config(&res);
        let loaded = load_str(&config, "gen.yaml").expect("config loads");
        let engine = Engine::compile(&loaded.config, "gen.yaml").expect("config compiles");
        let mut batches = engine.batches(None, &Vec::new());
        let mut errors = EvalErrors::new(0);
        let mut want = Vec::new();
        let mut want_errors = 0;
        for obj in &objects {
            let value: Value = serde_json::from_str(&obj.json()).unwrap();
            engine.evaluate_matching(&mut batches, &value, &mut errors);
            want.extend(model::evaluate(&res, obj, &mut want_errors));
        }
        let set = engine.assemble(batches);
        let mut out = Vec::new();
        render::render(&set, Format::Prometheus, &TableOptions::default(), &mut out).unwrap();
        let got = parse_samples(&String::from_utf8(out).unwrap());
        proptest::prop_assert_eq!(sorted(got), sorted(want), "config: {}", config);
        proptest::prop_assert_eq!(errors.total, want_errors, "config: {}", config);
    }
}
