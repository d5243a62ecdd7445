process CALLVAR_CALL {
    tag "${meta.id}:${bed.baseName}"
    label 'process_medium'

    input:
    tuple val(meta), path(reads), path(index), path(bed)
    tuple path(fasta), path(fasta_index)

    output:
    tuple val(meta), path("${prefix}.vcf.gz"), path("${prefix}.vcf.gz.tbi")    , emit: vcf
    tuple val(meta), path("${prefix}.g.vcf.gz"), path("${prefix}.g.vcf.gz.tbi"), emit: gvcf, optional: true
    path "versions.yml"                                                        , emit: versions

    when:
    task.ext.when == null || task.ext.when

    script:
    def args = task.ext.args ?: ''
    prefix = task.ext.prefix ?: "${meta.id}.${bed.baseName}"
    def device = task.accelerator ? '--device cuda' : '--device cpu'
    def gvcf = task.ext.gvcf ? "--gvcf ${prefix}.g.vcf.gz" : ''
    """
    callvar call \\
        --ref ${fasta} \\
        --reads ${reads} \\
        --regions-file ${bed} \\
        --threads ${task.cpus} \\
        ${device} \\
        --output ${prefix}.vcf.gz \\
        ${gvcf} \\
        --quiet \\
        ${args}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        callvar: \$(callvar --version | sed -n '1s/^callvar \\([^ ]*\\).*/\\1/p')
    END_VERSIONS
    """

    stub:
    prefix = task.ext.prefix ?: "${meta.id}.${bed.baseName}"
    """
    echo | gzip > ${prefix}.vcf.gz
    touch ${prefix}.vcf.gz.tbi

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        callvar: \$(callvar --version | sed -n '1s/^callvar \\([^ ]*\\).*/\\1/p')
    END_VERSIONS
    """
}
