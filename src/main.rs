//! The `hoso` binary: everything lives in the library; see `hoso --help`.

fn main() -> std::process::ExitCode {
    hoso::cli::main()
}
