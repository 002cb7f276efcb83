// NNRKit: the whole toolkit behind one import.
@_exported import NNRBitIO
@_exported import NNRContainer
@_exported import NNRSyntax
@_exported import NNRCoding
@_exported import NNRQuantization
@_exported import NNRModelIO
@_exported import NNRCodec
@_exported import NNRTools
