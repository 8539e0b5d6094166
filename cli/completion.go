package cli

import "fmt"

// Completion is `gatehouse completion bash|zsh|fish`: it prints a shell
// completion script (commands, flags, and target names from
// `gatehouse targets --format json`).
func Completion(args []string, env Env) error {
	if len(args) != 1 {
		return usageError("usage: gatehouse completion bash|zsh|fish")
	}
	s, ok := map[string]string{"bash": bashCompletion, "zsh": zshCompletion, "fish": fishCompletion}[args[0]]
	if !ok {
		return usageError("completion %q: want bash, zsh or fish", args[0])
	}
	_, err := fmt.Fprint(env.Stdout, s)
	return err
}

const commandWords = "login logout targets connect sessions cancel history completion dev serve migrate genkeys version help"

const bashCompletion = `# gatehouse bash completion: source <(gatehouse completion bash)
_gatehouse() {
  local cur prev cmd
  cur="${COMP_WORDS[COMP_CWORD]}"
  prev="${COMP_WORDS[COMP_CWORD-1]}"
  cmd="${COMP_WORDS[1]}"
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=( $(compgen -W "` + commandWords + `" -- "$cur") )
    return
  fi
  case "$prev" in
    --format) COMPREPLY=( $(compgen -W "table json csv" -- "$cur") ); return ;;
    --state) COMPREPLY=( $(compgen -W "live pending active canceling terminated" -- "$cur") ); return ;;
  esac
  case "$cur" in
    -*)
      case "$cmd" in
        login) COMPREPLY=( $(compgen -W "--addr --password --method --login-name --name --format --ca-file --insecure" -- "$cur") ) ;;
        connect) COMPREPLY=( $(compgen -W "--addr --host --listen-port --exec --keep-session --token --format --ca-file --insecure" -- "$cur") ) ;;
        sessions) COMPREPLY=( $(compgen -W "--addr --all --state --target --user --limit --format" -- "$cur") ) ;;
        history) COMPREPLY=( $(compgen -W "--addr --from --to --user --target --project --org --auth-method --reason --client-ip --q --oldest --limit --format" -- "$cur") ) ;;
        *) COMPREPLY=( $(compgen -W "--addr --format --ca-file --insecure" -- "$cur") ) ;;
      esac ;;
    *)
      case "$cmd" in
        connect|targets)
          COMPREPLY=( $(compgen -W "$(gatehouse targets --format json 2>/dev/null | sed -n 's/^    "name": "\(.*\)",$/\1/p')" -- "$cur") ) ;;
        cancel)
          COMPREPLY=( $(compgen -W "$(gatehouse sessions --state live --format json 2>/dev/null | sed -n 's/^    "id": "\(.*\)",$/\1/p')" -- "$cur") ) ;;
        completion) COMPREPLY=( $(compgen -W "bash zsh fish" -- "$cur") ) ;;
      esac ;;
  esac
}
complete -F _gatehouse gatehouse
`

const zshCompletion = `#compdef gatehouse
# gatehouse zsh completion: gatehouse completion zsh > "${fpath[1]}/_gatehouse"
_gatehouse() {
  local -a cmds
  cmds=(` + commandWords + `)
  if (( CURRENT == 2 )); then
    _describe 'command' cmds
    return
  fi
  case "$words[2]" in
    connect|targets)
      local -a names
      names=(${(f)"$(gatehouse targets --format json 2>/dev/null | sed -n 's/^    "name": "\(.*\)",$/\1/p')"})
      _arguments '--addr[Gatehouse URL]:url:' '--host[host]:host:' '--listen-port[local port]:port:' \
        '--exec[command to run]:command:_command_names' '--keep-session[leave the session running]' \
        '--format[output]:format:(table json)' "1:target:(${names[*]})" ;;
    sessions)
      _arguments '--all[every session you may see]' '--state[state]:state:(live pending active canceling terminated)' \
        '--target[target]:target:' '--format[output]:format:(table json)' ;;
    cancel)
      local -a ids
      ids=(${(f)"$(gatehouse sessions --state live --format json 2>/dev/null | sed -n 's/^    "id": "\(.*\)",$/\1/p')"})
      _arguments "1:session:(${ids[*]})" ;;
    history)
      _arguments '--from[from]:date:' '--to[to]:date:' '--user[user]:user:' '--target[target]:target:' \
        '--project[project]:project:' '--reason[reason]:reason:' '--oldest[oldest first]' '--format[output]:format:(table json csv)' ;;
    login)
      _arguments '--addr[Gatehouse URL]:url:' '--password[log in with a password]' '--method[auth method]:id:' '--name[token name]:name:' ;;
    completion)
      _arguments '1:shell:(bash zsh fish)' ;;
  esac
}
compdef _gatehouse gatehouse
`

const fishCompletion = `# gatehouse fish completion: gatehouse completion fish | source
set -l cmds ` + commandWords + `
complete -c gatehouse -f
complete -c gatehouse -n "not __fish_seen_subcommand_from $cmds" -a "$cmds"
complete -c gatehouse -n "__fish_seen_subcommand_from connect targets" -a "(gatehouse targets --format json 2>/dev/null | string match -r -g '^    \"name\": \"(.*)\",\$')"
complete -c gatehouse -n "__fish_seen_subcommand_from cancel" -a "(gatehouse sessions --state live --format json 2>/dev/null | string match -r -g '^    \"id\": \"(.*)\",\$')"
complete -c gatehouse -n "__fish_seen_subcommand_from completion" -a "bash zsh fish"
complete -c gatehouse -l addr -d "Gatehouse URL" -r
complete -c gatehouse -l format -d "output" -xa "table json csv"
complete -c gatehouse -n "__fish_seen_subcommand_from sessions" -l all -d "every session you may see"
complete -c gatehouse -n "__fish_seen_subcommand_from sessions" -l state -xa "live pending active canceling terminated"
complete -c gatehouse -n "__fish_seen_subcommand_from connect" -l host -r
complete -c gatehouse -n "__fish_seen_subcommand_from connect" -l listen-port -r
complete -c gatehouse -n "__fish_seen_subcommand_from connect" -l exec -r
complete -c gatehouse -n "__fish_seen_subcommand_from connect" -l keep-session
complete -c gatehouse -n "__fish_seen_subcommand_from login" -l password
complete -c gatehouse -n "__fish_seen_subcommand_from history" -l from -r
complete -c gatehouse -n "__fish_seen_subcommand_from history" -l to -r
complete -c gatehouse -n "__fish_seen_subcommand_from history" -l oldest
`
