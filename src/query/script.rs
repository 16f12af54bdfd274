//! The subset of Painless that ES documents for vector `script_score`: vector functions
//! (`cosineSimilarity`, `dotProduct`, `l1norm`, `l2norm`, `hamming`) over a query vector
//! param and a field, arithmetic, `_score`, `sigmoid`, `saturation` and `Math.*`, with
//! `double x = ...;` locals and `return`.
//! <https://www.elastic.co/guide/en/elasticsearch/reference/current/query-dsl-script-score-query.html#vector-functions>

use std::collections::HashMap;

use crate::error::{Error, Result};

/// A vector function of the script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VectorFunction {
    CosineSimilarity,
    DotProduct,
    L1Norm,
    L2Norm,
    Hamming,
}

/// A parsed script expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Number(f64),
    Score,
    Local(String),
    Vector {
        function: VectorFunction,
        param: String,
        field: String,
    },
    Call {
        name: String,
        args: Vec<Expr>,
    },
    Neg(Box<Expr>),
    Binary {
        op: char,
        left: Box<Expr>,
        right: Box<Expr>,
    },
}

/// A parsed script: locals assigned in order, then the returned expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Script {
    pub locals: Vec<(String, Expr)>,
    pub result: Expr,
}

fn unsupported(source: &str, detail: &str) -> Error {
    Error::illegal_argument(format!(
        "script_score script [{source}] is not supported by Iris: {detail}; supported are cosineSimilarity, dotProduct, l1norm, l2norm, hamming, sigmoid, saturation, Math functions, _score and arithmetic"
    ))
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Number(f64),
    Name(String),
    Text(String),
    Symbol(char),
}

fn tokenize(source: &str) -> Result<Vec<Token>> {
    let mut tokens = Vec::new();
    let characters: Vec<char> = source.chars().collect();
    let mut at = 0;
    while at < characters.len() {
        let character = characters[at];
        if character.is_whitespace() {
            at += 1;
        } else if character.is_ascii_digit()
            || (character == '.' && characters.get(at + 1).is_some_and(char::is_ascii_digit))
        {
            let start = at;
            while at < characters.len() && (characters[at].is_ascii_digit() || characters[at] == '.') {
                at += 1;
            }
            let text: String = characters[start..at].iter().collect();
            let number = text
                .parse()
                .map_err(|_| unsupported(source, &format!("bad number [{text}]")))?;
            // Painless number suffixes (1.0f, 2d) carry no meaning here.
            if at < characters.len() && matches!(characters[at], 'f' | 'F' | 'd' | 'D' | 'L' | 'l') {
                at += 1;
            }
            tokens.push(Token::Number(number));
        } else if character.is_alphabetic() || character == '_' {
            let start = at;
            while at < characters.len()
                && (characters[at].is_alphanumeric() || characters[at] == '_' || characters[at] == '.')
            {
                at += 1;
            }
            tokens.push(Token::Name(characters[start..at].iter().collect()));
        } else if character == '\'' || character == '"' {
            let start = at + 1;
            at = start;
            while at < characters.len() && characters[at] != character {
                at += 1;
            }
            if at >= characters.len() {
                return Err(unsupported(source, "unterminated string"));
            }
            tokens.push(Token::Text(characters[start..at].iter().collect()));
            at += 1;
        } else if "+-*/(),;=".contains(character) {
            tokens.push(Token::Symbol(character));
            at += 1;
        } else {
            return Err(unsupported(source, &format!("unexpected character [{character}]")));
        }
    }
    Ok(tokens)
}

struct Parser<'a> {
    source: &'a str,
    tokens: Vec<Token>,
    at: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.at).cloned();
        self.at += 1;
        token
    }

    fn expect(&mut self, symbol: char) -> Result<()> {
        match self.next() {
            Some(Token::Symbol(found)) if found == symbol => Ok(()),
            other => Err(unsupported(
                self.source,
                &format!("expected [{symbol}], found {other:?}"),
            )),
        }
    }

    fn expression(&mut self) -> Result<Expr> {
        let mut left = self.term()?;
        while let Some(Token::Symbol(op @ ('+' | '-'))) = self.peek().cloned() {
            self.at += 1;
            let right = self.term()?;
            left = Expr::Binary {
                op,
                left: Box::new(left),
                right: Box::new(right),
            };
        }
        Ok(left)
    }

    fn term(&mut self) -> Result<Expr> {
        let mut left = self.unary()?;
        while let Some(Token::Symbol(op @ ('*' | '/'))) = self.peek().cloned() {
            self.at += 1;
            let right = self.unary()?;
            left = Expr::Binary {
                op,
                left: Box::new(left),
                right: Box::new(right),
            };
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr> {
        if self.peek() == Some(&Token::Symbol('-')) {
            self.at += 1;
            return Ok(Expr::Neg(Box::new(self.unary()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr> {
        match self.next() {
            Some(Token::Number(number)) => Ok(Expr::Number(number)),
            Some(Token::Symbol('(')) => {
                let inner = self.expression()?;
                self.expect(')')?;
                Ok(inner)
            }
            Some(Token::Name(name)) => self.named(name),
            other => Err(unsupported(self.source, &format!("unexpected {other:?}"))),
        }
    }

    fn named(&mut self, name: String) -> Result<Expr> {
        match name.as_str() {
            "_score" => return Ok(Expr::Score),
            "Math.E" => return Ok(Expr::Number(std::f64::consts::E)),
            "Math.PI" => return Ok(Expr::Number(std::f64::consts::PI)),
            _ => {}
        }
        if self.peek() != Some(&Token::Symbol('(')) {
            return Ok(Expr::Local(name));
        }
        self.at += 1;
        let function = match name.as_str() {
            "cosineSimilarity" => Some(VectorFunction::CosineSimilarity),
            "dotProduct" => Some(VectorFunction::DotProduct),
            "l1norm" => Some(VectorFunction::L1Norm),
            "l2norm" => Some(VectorFunction::L2Norm),
            "hamming" => Some(VectorFunction::Hamming),
            _ => None,
        };
        if let Some(function) = function {
            let Some(Token::Name(param)) = self.next() else {
                return Err(unsupported(self.source, "vector functions take params.<name> first"));
            };
            let Some(param) = param.strip_prefix("params.").map(str::to_string) else {
                return Err(unsupported(self.source, "vector functions take params.<name> first"));
            };
            self.expect(',')?;
            let field = match self.next() {
                Some(Token::Text(field)) => field,
                _ => {
                    return Err(unsupported(
                        self.source,
                        "vector functions take a quoted field name second",
                    ));
                }
            };
            self.expect(')')?;
            return Ok(Expr::Vector { function, param, field });
        }
        const CALLS: &[&str] = &[
            "sigmoid",
            "saturation",
            "Math.log",
            "Math.log10",
            "Math.sqrt",
            "Math.exp",
            "Math.abs",
            "Math.max",
            "Math.min",
            "Math.pow",
        ];
        if !CALLS.contains(&name.as_str()) {
            return Err(unsupported(self.source, &format!("unknown function [{name}]")));
        }
        let mut args = Vec::new();
        if self.peek() != Some(&Token::Symbol(')')) {
            loop {
                args.push(self.expression()?);
                if self.peek() == Some(&Token::Symbol(',')) {
                    self.at += 1;
                    continue;
                }
                break;
            }
        }
        self.expect(')')?;
        Ok(Expr::Call { name, args })
    }
}

/// Parses a script source.
pub fn parse_script(source: &str) -> Result<Script> {
    let mut parser = Parser {
        source,
        tokens: tokenize(source)?,
        at: 0,
    };
    let mut locals = Vec::new();
    loop {
        match parser.peek().cloned() {
            Some(Token::Name(keyword)) if ["double", "float", "def", "var"].contains(&keyword.as_str()) => {
                parser.at += 1;
                let Some(Token::Name(local)) = parser.next() else {
                    return Err(unsupported(source, "expected a variable name"));
                };
                parser.expect('=')?;
                let value = parser.expression()?;
                parser.expect(';')?;
                locals.push((local, value));
            }
            Some(Token::Name(keyword)) if keyword == "return" => {
                parser.at += 1;
                let result = parser.expression()?;
                if parser.peek() == Some(&Token::Symbol(';')) {
                    parser.at += 1;
                }
                if parser.peek().is_some() {
                    return Err(unsupported(source, "code after return"));
                }
                return Ok(Script { locals, result });
            }
            _ => {
                let result = parser.expression()?;
                if parser.peek() == Some(&Token::Symbol(';')) {
                    parser.at += 1;
                }
                if parser.peek().is_some() {
                    return Err(unsupported(source, "trailing input"));
                }
                return Ok(Script { locals, result });
            }
        }
    }
}

/// What a script needs to evaluate for one document.
pub trait ScriptContext {
    /// Returns the function's value for the document, or None when the field is missing.
    fn vector(&self, function: VectorFunction, param: &str, field: &str) -> Result<f64>;
    fn score(&self) -> f64;
}

impl Script {
    /// Evaluates the script for one document.
    pub fn evaluate(&self, context: &dyn ScriptContext) -> Result<f64> {
        let mut locals = HashMap::new();
        for (name, value) in &self.locals {
            let evaluated = evaluate(value, context, &locals)?;
            locals.insert(name.clone(), evaluated);
        }
        evaluate(&self.result, context, &locals)
    }

    /// Returns every (param, field) pair the vector functions read.
    pub fn vector_uses(&self) -> Vec<(String, String)> {
        let mut uses = Vec::new();
        for expression in self.locals.iter().map(|(_, value)| value).chain([&self.result]) {
            collect_vectors(expression, &mut uses);
        }
        uses
    }
}

fn collect_vectors(expression: &Expr, uses: &mut Vec<(String, String)>) {
    match expression {
        Expr::Vector { param, field, .. } => uses.push((param.clone(), field.clone())),
        Expr::Call { args, .. } => args.iter().for_each(|arg| collect_vectors(arg, uses)),
        Expr::Neg(inner) => collect_vectors(inner, uses),
        Expr::Binary { left, right, .. } => {
            collect_vectors(left, uses);
            collect_vectors(right, uses);
        }
        Expr::Number(_) | Expr::Score | Expr::Local(_) => {}
    }
}

fn evaluate(expression: &Expr, context: &dyn ScriptContext, locals: &HashMap<String, f64>) -> Result<f64> {
    let value = |inner: &Expr| evaluate(inner, context, locals);
    Ok(match expression {
        Expr::Number(number) => *number,
        Expr::Score => context.score(),
        Expr::Local(name) => *locals
            .get(name)
            .ok_or_else(|| Error::illegal_argument(format!("script_score: unknown variable [{name}]")))?,
        Expr::Vector { function, param, field } => context.vector(*function, param, field)?,
        Expr::Neg(inner) => -value(inner)?,
        Expr::Binary { op, left, right } => {
            let (left, right) = (value(left)?, value(right)?);
            match op {
                '+' => left + right,
                '-' => left - right,
                '*' => left * right,
                _ => left / right,
            }
        }
        Expr::Call { name, args } => {
            let values = args.iter().map(value).collect::<Result<Vec<f64>>>()?;
            let arg = |position: usize| {
                values
                    .get(position)
                    .copied()
                    .ok_or_else(|| Error::illegal_argument(format!("script_score: [{name}] needs more arguments")))
            };
            match name.as_str() {
                // Painless: sigmoid(value, k, a) = value^a / (k^a + value^a).
                "sigmoid" => {
                    let (x, k, a) = (arg(0)?, arg(1)?, arg(2)?);
                    x.powf(a) / (k.powf(a) + x.powf(a))
                }
                "saturation" => arg(0)? / (arg(1)? + arg(0)?),
                "Math.log" => arg(0)?.ln(),
                "Math.log10" => arg(0)?.log10(),
                "Math.sqrt" => arg(0)?.sqrt(),
                "Math.exp" => arg(0)?.exp(),
                "Math.abs" => arg(0)?.abs(),
                "Math.max" => arg(0)?.max(arg(1)?),
                "Math.min" => arg(0)?.min(arg(1)?),
                "Math.pow" => arg(0)?.powf(arg(1)?),
                other => {
                    return Err(Error::illegal_argument(format!(
                        "script_score: unknown function [{other}]"
                    )));
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed;

    impl ScriptContext for Fixed {
        fn vector(&self, function: VectorFunction, _param: &str, _field: &str) -> Result<f64> {
            Ok(match function {
                VectorFunction::CosineSimilarity => 0.5,
                VectorFunction::DotProduct => 2.0,
                _ => 3.0,
            })
        }

        fn score(&self) -> f64 {
            4.0
        }
    }

    #[test]
    fn evaluates_the_documented_es_forms() {
        let cosine = parse_script("cosineSimilarity(params.query_vector, 'my_dense_vector') + 1.0").expect("parse");
        assert_eq!(cosine.evaluate(&Fixed).expect("eval"), 1.5);
        let dot = parse_script(
            "double value = dotProduct(params.query_vector, 'my_dense_vector');\nreturn sigmoid(1, Math.E, -value);",
        )
        .expect("parse");
        assert!((dot.evaluate(&Fixed).expect("eval") - 1.0 / (1.0 + (-2.0f64).exp())).abs() < 1e-12);
        let l2 = parse_script("1 / (1 + l2norm(params.queryVector, 'my_dense_vector'))").expect("parse");
        assert_eq!(l2.evaluate(&Fixed).expect("eval"), 0.25);
        assert_eq!(
            parse_script("_score * 2")
                .expect("parse")
                .evaluate(&Fixed)
                .expect("eval"),
            8.0
        );
        assert_eq!(
            l2.vector_uses(),
            vec![("queryVector".to_string(), "my_dense_vector".to_string())]
        );
    }

    #[test]
    fn rejects_what_it_cannot_run() {
        assert!(parse_script("doc['price'].value * 2").is_err());
        assert!(parse_script("for (int i = 0; i < 3; i++) {}").is_err());
        assert!(parse_script("cosineSimilarity(params.v, 'f') +").is_err());
    }
}
