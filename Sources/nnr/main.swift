print("nnr")
