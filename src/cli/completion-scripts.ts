// The completion scripts `makima completion` prints, one per shell, from the command tree
// (completion.ts). Each shell gets the same small tables — a command's subcommands, its options,
// which options take a value, the choices of a value — and one function that walks the words typed
// so far to the command they name (skipping options and their values), then completes the word
// under the cursor: an option after `-`, an option's value (its choices, else files), a subcommand,
// else an argument (its choices, else files).

/** What a shell needs to know about one command to complete the word after it. */
export interface CompletionNode {
  /** The words that lead to it, `makima` first: 'makima task list'. */
  path: string;
  /** The subcommands offered (hidden aliases are not). */
  commands: { name: string; description: string }[];
  /** Every subcommand name, aliases included: `makima tasks --st` completes like `task list`. */
  known: string[];
  options: { flags: string[]; description: string; takesValue: boolean; choices: string[] }[];
  /** The values its positional arguments may take, when commander knows them (`completion <shell>`). */
  argumentChoices: string[];
}

/** A word for bash and zsh: as it is when nothing in it is special to them, else in single quotes. */
const sq = (text: string) => (/^[\w@+,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`);
/** A word in single quotes for fish, where a backslash escapes inside them too. */
const fq = (text: string) => `'${text.replace(/[\\']/g, (c) => `\\${c}`)}'`;

const flags = (node: CompletionNode) => node.options.flatMap((o) => o.flags);
const valued = (node: CompletionNode) => node.options.filter((o) => o.takesValue).flatMap((o) => o.flags);

/** Each table: the command's path (plus an option, for choices) → its words. */
function choiceRows(nodes: CompletionNode[]): [string, string[]][] {
  return nodes.flatMap((n) => [
    ...n.options.filter((o) => o.choices.length).flatMap((o) => o.flags.map((f): [string, string[]] => [`${n.path} ${f}`, o.choices])),
    ...(n.argumentChoices.length ? [[n.path, n.argumentChoices] as [string, string[]]] : []),
  ]);
}

/** A shell function `name KEY` printing the words of KEY's row, one per line, for bash or zsh. */
function caseTable(name: string, rows: [string, string[]][]): string {
  const arms = rows.filter(([, words]) => words.length).map(([key, words]) => `    ${sq(key)}) printf '%s\\n' ${words.map(sq).join(' ')} ;;`);
  return `${name}() {\n  case $1 in\n${arms.join('\n')}\n  esac\n}\n`;
}

const HEADER = '# makima shell completion, made by `makima completion` (docs/cli.md, "Shell completion")\n';

function bash(nodes: CompletionNode[]): string {
  return `${HEADER}# Install: eval "$(makima completion bash)" in ~/.bashrc
${caseTable('_makima_commands', nodes.map((n) => [n.path, n.commands.map((c) => c.name)]))}
${caseTable('_makima_known', nodes.map((n) => [n.path, n.known]))}
${caseTable('_makima_options', nodes.map((n) => [n.path, flags(n)]))}
${caseTable('_makima_valued', nodes.map((n) => [n.path, valued(n)]))}
${caseTable('_makima_choices', choiceRows(nodes))}
_makima_has() { # _makima_has WORD LINES…: whether WORD is one of the lines
  local word=$1 line
  shift
  while IFS= read -r line; do [[ $line == "$word" ]] && return 0; done <<< "$*"
  return 1
}

_makima() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]} cmdpath=makima word skip= i
  for ((i = 1; i < COMP_CWORD; i++)); do
    word=\${COMP_WORDS[i]}
    if [[ -n $skip ]]; then skip=; continue; fi
    if [[ $word == -* ]]; then
      _makima_has "$word" "$(_makima_valued "$cmdpath")" && skip=1
      continue
    fi
    _makima_has "$word" "$(_makima_known "$cmdpath")" && cmdpath="$cmdpath $word"
  done
  local IFS=$'\\n'
  if [[ -n $skip ]]; then
    COMPREPLY=($(compgen -W "$(_makima_choices "$cmdpath $prev")" -- "$cur"))
  elif [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$(_makima_options "$cmdpath")" -- "$cur"))
  else
    COMPREPLY=($(compgen -W "$(_makima_commands "$cmdpath")"$'\\n'"$(_makima_choices "$cmdpath")" -- "$cur"))
  fi
}
complete -o default -F _makima makima
`;
}

function zsh(nodes: CompletionNode[]): string {
  const described = (pairs: [string, string][]) => pairs.map(([name, description]) => `${name}:${description}`);
  return `#compdef makima
${HEADER}# Install: makima completion zsh > ~/.zfunc/_makima, with fpath=(~/.zfunc $fpath) before compinit in
# ~/.zshrc; or source <(makima completion zsh) after compinit.
${caseTable('_makima_commands', nodes.map((n) => [n.path, described(n.commands.map((c) => [c.name, c.description]))]))}
${caseTable('_makima_known', nodes.map((n) => [n.path, n.known]))}
${caseTable('_makima_options', nodes.map((n) => [n.path, described(n.options.flatMap((o) => o.flags.map((f): [string, string] => [f, o.description])))]))}
${caseTable('_makima_valued', nodes.map((n) => [n.path, valued(n)]))}
${caseTable('_makima_choices', choiceRows(nodes))}
_makima() {
  local cmdpath=makima word skip= i
  local -a candidates
  for (( i = 2; i < CURRENT; i++ )); do
    word=\${words[i]}
    if [[ -n $skip ]]; then skip=; continue; fi
    if [[ $word == -* ]]; then
      (( \${\${(f)"$(_makima_valued $cmdpath)"}[(Ie)$word]} )) && skip=1
      continue
    fi
    (( \${\${(f)"$(_makima_known $cmdpath)"}[(Ie)$word]} )) && cmdpath="$cmdpath $word"
  done
  if [[ -n $skip ]]; then
    candidates=(\${(f)"$(_makima_choices "$cmdpath \${words[CURRENT-1]}")"})
    if (( $#candidates )); then compadd -a candidates; else _files; fi
  elif [[ \${words[CURRENT]} == -* ]]; then
    candidates=(\${(f)"$(_makima_options $cmdpath)"})
    _describe -t options option candidates
  else
    candidates=(\${(f)"$(_makima_commands $cmdpath)"})
    if (( $#candidates )); then _describe -t commands command candidates; return; fi
    candidates=(\${(f)"$(_makima_choices $cmdpath)"})
    if (( $#candidates )); then compadd -a candidates; else _files; fi
  fi
}

if [[ $zsh_eval_context[-1] == loadautofunc ]]; then _makima "$@"; else compdef _makima makima; fi
`;
}

/** A fish function `name KEY` printing the words of KEY's row, one per line. */
function switchTable(name: string, rows: [string, string[]][]): string {
  const arms = rows.filter(([, words]) => words.length).map(([key, words]) => `        case ${fq(key)}\n            printf '%s\\n' ${words.map(fq).join(' ')}`);
  return `function ${name}\n    switch $argv[1]\n${arms.join('\n')}\n    end\nend\n`;
}

function fish(nodes: CompletionNode[]): string {
  const at = (node: CompletionNode) => `-n ${fq(`__makima_at '${node.path}'`)}`;
  const lines = nodes.flatMap((node) => [
    ...node.commands.map((c) => `complete -c makima ${at(node)} -f -a ${fq(c.name)} -d ${fq(c.description)}`),
    ...(node.argumentChoices.length ? [`complete -c makima ${at(node)} -f -a ${fq(node.argumentChoices.join(' '))}`] : []),
    ...node.options.map((o) => {
      const names = o.flags.map((f) => (f.startsWith('--') ? `-l ${f.slice(2)}` : `-s ${f.slice(1)}`)).join(' ');
      const value = o.choices.length ? ` -x -a ${fq(o.choices.join(' '))}` : o.takesValue ? ' -r' : '';
      return `complete -c makima ${at(node)} ${names}${value} -d ${fq(o.description)}`;
    }),
  ]);
  return `${HEADER}# Install: makima completion fish > ~/.config/fish/completions/makima.fish
${switchTable('__makima_known', nodes.map((n) => [n.path, n.known]))}
${switchTable('__makima_valued', nodes.map((n) => [n.path, valued(n)]))}
# The command the words typed so far name ('makima task list'), past options and their values.
function __makima_path
    set -l words (commandline -opc)
    set -e words[1]
    set -l cmdpath makima
    set -l skip 0
    for word in $words
        if test $skip = 1
            set skip 0
            continue
        end
        if string match -q -- '-*' $word
            contains -- $word (__makima_valued "$cmdpath"); and set skip 1
            continue
        end
        contains -- $word (__makima_known "$cmdpath"); and set -a cmdpath $word
    end
    echo $cmdpath
end

function __makima_at
    test (__makima_path) = $argv[1]
end

${lines.join('\n')}
`;
}

export const SCRIPTS = { bash, zsh, fish } as const;
export type Shell = keyof typeof SCRIPTS;
