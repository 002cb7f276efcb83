import ArgumentParser

/// `nnr encode --blocks`: NNR_PT_BLOCK units.
struct BlockUnitOptions: ParsableArguments {
    @Flag(name: .long, help: ArgumentHelp(
        "NNR_PT_BLOCK units: each weight X.weight with its bias X.bias and the batch-norm layer after it (Y.weight, Y.bias, Y.running_mean, Y.running_var) in one NDU, as NNCodec groups PyTorch models."))
    var blocks = false
}
