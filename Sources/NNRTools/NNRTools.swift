// NNRTools
