//! Engine throughput: the embedded TAP config evaluated over the 89 realistic
//! objects of examples/tap-objects.yaml (all 21 kinds), and the OpenMetrics
//! rendering of the result. `cargo bench --bench engine`; criterion reports the
//! time per batch of 89 objects, and the throughput in objects per second.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use tap_metrics::config;
use tap_metrics::engine::{Engine, EvalErrors};
use tap_metrics::render::{self, Format, TableOptions};
use tap_metrics::source::file::parse_objects;

fn engine(c: &mut Criterion) {
    let objects = parse_objects(
        include_bytes!("../examples/tap-objects.yaml"),
        "examples/tap-objects.yaml",
    )
    .expect("fixtures parse");
    let engine = Engine::compile(&config::tap_default().config, "default").expect("compiles");
    let snapshot = || {
        let mut batches = engine.batches(None, &Vec::new());
        let mut errors = EvalErrors::new(0);
        for obj in &objects {
            engine.evaluate_matching(&mut batches, obj, &mut errors);
            // As the file source does: the spill check after each object.
            for b in &mut batches {
                b.spill_if_full().expect("spool");
            }
        }
        engine.assemble(batches)
    };

    let mut g = c.benchmark_group("tap-default");
    g.throughput(Throughput::Elements(objects.len() as u64));
    g.bench_function("evaluate 89 objects", |b| b.iter(|| black_box(snapshot())));
    let set = snapshot();
    g.bench_function("render openmetrics", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(256 * 1024);
            render::render(
                &set,
                Format::Openmetrics,
                &TableOptions::default(),
                &mut out,
            )
            .expect("in memory");
            black_box(out)
        })
    });
    g.finish();
}

criterion_group!(benches, engine);
criterion_main!(benches);
