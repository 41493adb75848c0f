//! JSON in prom2json's shape, so that existing `jq` habits work:
//! `[{"name","help","type","metrics":[{"labels":{…},"value":"…"}]}]`.
//! Types are written as Prometheus text would (`GAUGE`); values are strings.

use std::io::{self, Write};

use serde_json::to_writer;

use crate::model::Family;

pub fn family(out: &mut impl Write, fam: &Family, first: bool) -> io::Result<()> {
    if !first {
        out.write_all(b",")?;
    }
    out.write_all(b"\n{\"name\":")?;
    to_writer(&mut *out, &fam.name)?;
    out.write_all(b",\"help\":")?;
    to_writer(&mut *out, &fam.help)?;
    out.write_all(b",\"type\":\"GAUGE\",\"metrics\":[")?;
    let mut first = true;
    fam.for_each_sample(|_, s| {
        if !first {
            out.write_all(b",")?;
        }
        first = false;
        out.write_all(b"{")?;
        if !s.labels.is_empty() {
            out.write_all(b"\"labels\":{")?;
            for (j, (k, v)) in s.labels.iter().enumerate() {
                if j > 0 {
                    out.write_all(b",")?;
                }
                to_writer(&mut *out, k)?;
                out.write_all(b":")?;
                to_writer(&mut *out, v)?;
            }
            out.write_all(b"},")?;
        }
        out.write_all(b"\"value\":")?;
        to_writer(&mut *out, &crate::shared::float::format_value(s.value))?;
        out.write_all(b"}")
    })?;
    out.write_all(b"]}")
}
