"""Network building blocks shared by planscope's adapters (plain torch, other libraries' module names)."""
