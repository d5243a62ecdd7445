process CALLVAR_MERGE {
    tag "$meta.id"
    label 'process_single'

    input:
    tuple val(meta), path(plan), path(vcfs, stageAs: 'shards/*')
    tuple path(fasta), path(fasta_index)

    output:
    tuple val(meta), path("${prefix}.vcf.gz"), path("${prefix}.vcf.gz.tbi"), emit: vcf
    path "versions.yml"                                                    , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    callvar merge \\
        --ref ${fasta} \\
        --plan ${plan} \\
        --output ${prefix}.vcf.gz \\
        --quiet \\
        ${args} \\
        ${vcfs}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        callvar: \$(callvar --version | sed -n '1s/^callvar \\([^ ]*\\).*/\\1/p')
    END_VERSIONS
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}"
    """
    echo | gzip > ${prefix}.vcf.gz
    touch ${prefix}.vcf.gz.tbi

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        callvar: \$(callvar --version | sed -n '1s/^callvar \\([^ ]*\\).*/\\1/p')
    END_VERSIONS
    """
}
