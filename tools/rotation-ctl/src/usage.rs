//! The usage text, which `--help`, a usage error and the crate docs show.

/// The usage text.
pub const USAGE: &str =
    "usage: rotation-ctl COMMAND SECRET [--function NAME_OR_ARN] [--output text|json] [options]

commands:
  attach SECRET --function NAME_OR_ARN [--days N | --schedule EXPR] [--duration H]
                     attach the function without rotating, run its preflight, and start the
                     first rotation only when every check passes (then wait for it to end)
  inspect SECRET     versions, labels, rotation settings, and a stale AWSPENDING with the step
                     its rotation stopped in (from the function's logs); --fingerprints also
                     reads each version's value to show a password fingerprint
  preflight SECRET   invoke the rotation function's preflight; exit 1 if a check fails
                     (add --previous to also try AWSPREVIOUS's credentials)
  resume SECRET      run the steps of the rotation in progress again through the function
  abort SECRET       take AWSPENDING off the rotation in progress, only when no client can be
                     locked out by it (the function's preflight decides; --force overrides)
  rollback SECRET    move AWSCURRENT back to AWSPREVIOUS, only when AWSPREVIOUS still logs in
                     and no rotation is in progress
  verify SECRET [--rotations N]
                     prove the attached function on this secret: its preflight, then N
                     rotations (1 to 20, default 1) started with RotateSecret and watched to
                     the end, each followed by the preflight's login with the new AWSCURRENT;
                     exit 1 at the first failure (for a staging secret: it rotates for real)

The function is the secret's rotation function unless --function names another. AWS
credentials, region and endpoints come from the usual AWS environment and profile.";
