fn main() -> std::process::ExitCode {
    ec2_gitops::cli::main()
}
