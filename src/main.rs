fn main() -> std::process::ExitCode {
    ec2_gitops::main()
}
