process CALLVAR_SHARDS {
    tag "$meta.id"
    label 'process_single'

    input:
    tuple val(meta), path(reads), path(index)
    tuple path(fasta), path(fasta_index)

    output:
    tuple val(meta), path("shards/plan.tsv"), path("shards/shard-*.bed"), emit: plan
    path "versions.yml"                                                 , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    """
    callvar shards \\
        --ref ${fasta} \\
        --reads ${reads} \\
        --output-dir shards \\
        --quiet \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        callvar: \$(callvar --version | sed -n '1s/^callvar \\([^ ]*\\).*/\\1/p')
    END_VERSIONS
    """

    stub:
    """
    mkdir -p shards
    printf '#callvar shard plan\\n' > shards/plan.tsv
    printf 'chr1\\t0\\t1000\\n' > shards/shard-0001.bed

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        callvar: \$(callvar --version | sed -n '1s/^callvar \\([^ ]*\\).*/\\1/p')
    END_VERSIONS
    """
}
