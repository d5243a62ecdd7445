//! callvar: a small-variant caller. `main` only runs [`cli::run`] and turns its result into
//! an exit code: errors are printed as one line (the whole cause chain), and a closed
//! stdout (`callvar call -o - | head`) ends quietly with status 0.
mod alignment_index;
mod calibrate;
mod call;
mod candidates;
mod cigar;
mod cli;
mod clinical;
mod deliver;
mod eval;
mod genotype;
mod gvcf;
mod haplotypes;
mod manifest;
mod merge;
mod model;
mod output;
mod phasing;
mod ploidy;
mod preset;
mod reads;
mod realigner;
mod reference;
mod region;
mod report;
mod shards;
mod side_output;
mod somatic;
mod somatic_stats;
mod tensor;
mod tiers;
mod train;
mod vcf;
mod version;

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn main() {
    match cli::run() {
        Ok(code) => std::process::exit(code),
        Err(e) if is_broken_pipe(&e) => std::process::exit(0),
        Err(e) => {
            eprintln!("callvar: error: {e:#}");
            std::process::exit(1);
        }
    }
}
