#!/usr/bin/env nextflow
/*
 * callvar, sharded: for each sample of a samplesheet, plan shards of about equal work
 * (CALLVAR_SHARDS), call every shard as its own task (CALLVAR_CALL, on a GPU when the
 * `gpu` profile sets an accelerator) and merge the shards into one VCF, and gVCF with
 * --gvcf (CALLVAR_MERGE), identical to one `callvar call` over the sample's regions.
 *
 *   nextflow run workflows/nextflow --samplesheet samples.csv --fasta ref.fa.gz \
 *       [--shards 16] [--chunk_size 100000] [--regions chr20] [--gvcf] [--outdir results] \
 *       [-profile gpu]
 *
 * samplesheet.csv: header `sample,reads[,index]`; index defaults to READS.bai (.crai for CRAM).
 */
nextflow.enable.dsl = 2

include { CALLVAR_SHARDS                      } from './modules/callvar/shards/main'
include { CALLVAR_CALL                        } from './modules/callvar/call/main'
include { CALLVAR_MERGE as CALLVAR_MERGE_VCF  } from './modules/callvar/merge/main'
include { CALLVAR_MERGE as CALLVAR_MERGE_GVCF } from './modules/callvar/merge/main'

workflow {
    if (!params.samplesheet || !params.fasta) {
        error "callvar: --samplesheet and --fasta are required"
    }
    def fasta = file(params.fasta, checkIfExists: true)
    def fai = file("${params.fasta}.fai", checkIfExists: true)
    def gzi = file("${params.fasta}.gzi")
    def reference = Channel.value([fasta, gzi.exists() ? [fai, gzi] : [fai]])

    def samples = Channel.fromPath(params.samplesheet, checkIfExists: true)
        .splitCsv(header: true)
        .map { row ->
            def reads = file(row.reads, checkIfExists: true)
            def index = row.index ?: (row.reads.endsWith('.cram') ? "${row.reads}.crai" : "${row.reads}.bai")
            [[id: row.sample], reads, file(index, checkIfExists: true)]
        }

    CALLVAR_SHARDS(samples, reference)

    // one task per shard; meta carries the shard count so merging starts as soon as a
    // sample's last shard is done
    def plans = CALLVAR_SHARDS.out.plan
        .map { meta, plan, beds -> [meta, plan, beds instanceof List ? beds : [beds]] }
    def per_shard = plans
        .map { meta, plan, beds -> [meta, beds] }
        .join(samples)
        .flatMap { meta, beds, reads, index ->
            beds.collect { bed -> [meta + [shards: beds.size()], reads, index, bed] }
        }
    CALLVAR_CALL(per_shard, reference)

    def plan_of = plans.map { meta, plan, beds -> [meta.id, plan] }
    def gather = { ch ->
        ch.map { meta, vcf, tbi -> [groupKey(meta.id, meta.shards), vcf] }
            .groupTuple()
            .map { id, vcfs -> [id.toString(), vcfs] }
            .join(plan_of)
            .map { id, vcfs, plan -> [[id: id], plan, vcfs] }
    }
    CALLVAR_MERGE_VCF(gather(CALLVAR_CALL.out.vcf), reference)
    if (params.gvcf) {
        CALLVAR_MERGE_GVCF(gather(CALLVAR_CALL.out.gvcf), reference)
    }
}
