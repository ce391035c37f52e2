//! Arguments of a query whose filters are built at run time: each filter pushes its value
//! and gets its `$n` placeholder; `bind_args!` binds them in order on either engine.

#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Text(String),
    Int(i64),
}

/// Adds an argument and returns its placeholder.
pub(crate) fn push(args: &mut Vec<Arg>, a: Arg) -> String {
    args.push(a);
    format!("${}", args.len())
}

macro_rules! bind_args {
    ($q:expr, $args:expr) => {{
        let mut q = $q;
        for a in $args {
            q = match a {
                $crate::args::Arg::Text(s) => q.bind(s.clone()),
                $crate::args::Arg::Int(i) => q.bind(*i),
            };
        }
        q
    }};
}
pub(crate) use bind_args;
