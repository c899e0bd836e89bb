//! Prints the gate's decision for each command line read from stdin (one per line; `\n` in a
//! line stands for a newline).
//!
//! ```text
//! cargo run -p paddock-gate --example explain -- CWD MAIN WORKTREE SCOPE[,SCOPE...] [OTHER...]
//! ```

use paddock_gate::{ContextBuilder, Session, decide};
use paddock_policy::{Policy, glob::PatternSet};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [cwd, main, worktree, scope, others @ ..] = args.as_slice() else {
        eprintln!("usage: explain CWD MAIN WORKTREE SCOPE[,SCOPE...] [OTHER...]");
        std::process::exit(2);
    };
    let mut builder = ContextBuilder::new(cwd, main)
        .policy(&Policy::builtin())
        .git_common_dir(format!("{main}/.git"))
        .session(Session {
            id: "s1".into(),
            worktree: worktree.into(),
            scope: PatternSet::new(scope.split(','))?,
            branch: Some("paddock/s1".into()),
        });
    if let Ok(home) = std::env::var("HOME") {
        builder = builder.home(home);
    }
    for (i, other) in others.iter().enumerate() {
        builder = builder.other_session(format!("s{}", i + 2), other);
    }
    let ctx = builder.build()?;
    for line in std::io::stdin().lines() {
        let line = line?.replace("\\n", "\n");
        let decision = decide(&ctx, &line);
        println!(
            "{:8} {}",
            decision.verdict.as_str(),
            line.replace('\n', "⏎")
        );
        for f in &decision.findings {
            println!(
                "         {} [{}] {:?}: {}",
                f.rule, f.word, f.span, f.reason
            );
        }
    }
    Ok(())
}
