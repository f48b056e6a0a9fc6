"""Networks of other libraries re-implemented in plain torch with their module names, so their
state dicts load with strict=True: unet1d (diffusion_policy's / LeRobot's conditional 1-D U-Net),
resnet (torchvision's ResNet-18)."""
