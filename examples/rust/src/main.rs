//! The seed workflow: submit a background request, poll its status every
//! 2 s (YCBG_POLL_SECONDS overrides), print the final response.
//!
//! Configuration comes from the environment, read by libycbg itself:
//! YC_BASE_URL (optional), YC_API_KEY or YC_IAM_TOKEN, YC_FOLDER_ID.
//! YC_MODEL overrides the model (default "yandexgpt"); the input is the
//! command line, or a default question.

use std::process::ExitCode;
use std::time::Duration;

fn main() -> ExitCode {
    match run() {
        Ok(code) => code,
        Err(e) => {
            eprintln!("Error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn poll_interval() -> Duration {
    std::env::var("YCBG_POLL_SECONDS")
        .ok()
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        .map_or(Duration::from_secs(2), Duration::from_secs_f64)
}

fn run() -> Result<ExitCode, ycbg::Error> {
    let model = std::env::var("YC_MODEL").unwrap_or_else(|_| "yandexgpt".to_string());
    let args: Vec<String> = std::env::args().skip(1).collect();
    let input =
        if args.is_empty() { "Write a haiku about waiting for a background task.".to_string() } else { args.join(" ") };

    let client = ycbg::Client::from_env()?;
    let task = client.create(&model, &input)?;
    println!("Task sent: {}", task.id());

    let interval = poll_interval();
    let mut status = task.result()?.status;
    loop {
        println!("Status: {status}");
        if status.is_terminal() {
            break;
        }
        std::thread::sleep(interval);
        status = task.poll()?;
    }

    let result = task.result()?;
    match status {
        ycbg::Status::Completed => {
            println!("Final response: {}", result.output_text);
            Ok(ExitCode::SUCCESS)
        }
        other => {
            match &result.error {
                Some(e) => println!("Final response: (none, task {other}: {e})"),
                None => println!("Final response: (none, task {other})"),
            }
            Ok(ExitCode::FAILURE)
        }
    }
}
