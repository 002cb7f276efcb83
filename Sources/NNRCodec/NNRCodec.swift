// NNRCodec
