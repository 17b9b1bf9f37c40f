"""Creating a stage's AWS resources: on moto for `make run` and the tests, by template on AWS."""
